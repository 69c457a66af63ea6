function apply(ctx, promotions)
dd.promotion_in_force(setmetatable({}, {__index = function() error('boom') end}))
end
