function price(ctx)
ctx.lines[1] = 0
end
