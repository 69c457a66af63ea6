function apply(ctx, promotions)
table.insert(ctx.lines, {})
end
