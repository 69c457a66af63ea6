Counter = {}
function apply(ctx, promotions)
Counter.n = (Counter.n or 0) + 1
end
