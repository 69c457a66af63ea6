function check(ctx, checks)
dd.format = nil
end
