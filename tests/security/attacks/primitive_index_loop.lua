function apply(ctx, promotions)
dd.promotion_effect(setmetatable({}, {__index = function() while true do end end}))
end
