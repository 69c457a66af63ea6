function check(ctx, checks)
dd.check_min_margin({slot = 1e9})
end
