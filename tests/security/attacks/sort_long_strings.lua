function price(ctx)
local s = ('x'):rep(200000) local t = {} for i = 1, 100000 do t[i] = s end table.sort(t)
end
