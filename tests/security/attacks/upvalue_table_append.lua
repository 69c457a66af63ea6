local seen = {}
function price(ctx)
seen[#seen + 1] = ctx.now
end
