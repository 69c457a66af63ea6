function decide(ctx, credit)
error(('\u{20AC}'):rep(300))
end
