function apply(ctx, promotions)
local d = {promotion = 'X', sku = 'CABLE-3'} local g = {} for i = 1, 1e6 do g[i] = d end return {gifts = g}
end
