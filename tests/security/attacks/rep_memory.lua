function price(ctx)
local s = ('x'):rep(1e8)
end
