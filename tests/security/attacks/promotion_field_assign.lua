function apply(ctx, promotions)
promotions[1].id = 'X'
end
