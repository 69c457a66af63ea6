function check(ctx, checks)
ctx.coupons.X = true
end
