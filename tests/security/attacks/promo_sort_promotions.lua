function apply(ctx, promotions)
table.sort(promotions, function(a, b) return a.id > b.id end)
end
