function price(ctx)
ctx.lines = 0
end
