function apply(ctx, promotions)
local d = {promotion = 'X', amount = 0} local l = {} for i = 1, 1e6 do l[i] = d end return {lines = {l}}
end
