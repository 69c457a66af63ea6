function decide(ctx, credit)
local s = ('x'):rep(60000) s = s:gsub('x', s)
end
