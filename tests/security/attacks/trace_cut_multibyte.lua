function check(ctx, checks)
dd.trace(('\u{20AC}'):rep(100), ('\u{E9}'):rep(100), true, ('\u{1F600}'):rep(1000))
end
