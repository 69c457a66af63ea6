function decide(ctx, credit)
counter = (counter or 0) + 1
end
