function decide(ctx, credit)
table.concat({}, '', 1, math.maxinteger)
end
