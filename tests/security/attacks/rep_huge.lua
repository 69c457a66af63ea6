function decide(ctx, credit)
local s = ('x'):rep(2^40)
end
