function apply(ctx, promotions)
local s = ('x'):rep(100000) for i = 1, 1e6 do s = string.format('%s%s', s, s) end
end
