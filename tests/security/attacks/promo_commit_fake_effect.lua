function apply(ctx, promotions)
dd.promotion_commit(promotions[1], setmetatable({}, {__index = function() while true do end end}), 0)
end
