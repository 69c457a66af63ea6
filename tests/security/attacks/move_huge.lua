function decide(ctx, credit)
table.move({}, 1, math.maxinteger, 2)
end
