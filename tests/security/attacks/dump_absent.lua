function decide(ctx, credit)
string.dump(decide)
end
