function decide(ctx, credit)
local s = ('x'):rep(200000) local u = s .. '' local t = {} for i = 1, 100000 do t[i] = (i % 2 == 0) and s or u end
table.sort(t, function(a, b) return a < b end)
end
