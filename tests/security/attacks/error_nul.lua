function check(ctx, checks)
error('a\0b')
end
