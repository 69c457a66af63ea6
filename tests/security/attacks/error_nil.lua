function decide(ctx, credit)
error(nil)
end
