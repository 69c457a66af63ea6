function decide(ctx, credit)
dd.promotion_effect({slot = 0})
end
