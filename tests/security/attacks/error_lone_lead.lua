function apply(ctx, promotions)
error(('x'):rep(10) .. '\xe2\x82')
end
