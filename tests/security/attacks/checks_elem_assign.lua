function check(ctx, checks)
checks[1] = 0
end
