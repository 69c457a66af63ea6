function apply(ctx, promotions)
return {order = {{promotion = promotions[1].id, amount = 1, description = '\xff' .. ('\u{E9}'):rep(600)}}}
end
