local cache = {}
function apply(ctx, promotions)
cache[ctx.customer.id] = true
end
