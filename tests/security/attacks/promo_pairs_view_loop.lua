function apply(ctx, promotions)
while true do for k, v in pairs(ctx.usage) do end for k, v in pairs(ctx.attributes) do end end
end
