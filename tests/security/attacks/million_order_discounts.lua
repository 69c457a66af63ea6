function apply(ctx, promotions)
local d = {promotion = 'X', amount = 0} local o = {} for i = 1, 1e6 do o[i] = d end return {order = o}
end
