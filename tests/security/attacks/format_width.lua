function decide(ctx, credit)
string.format('%99999d', 1)
end
