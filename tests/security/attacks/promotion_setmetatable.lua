function apply(ctx, promotions)
setmetatable(promotions[1], {})
end
