function price(ctx)
local s = ('x'):rep(5000) for i = 1, 1e6 do dd.trace('flood', 'r', true, s) end
end
