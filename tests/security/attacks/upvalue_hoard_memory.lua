local keep = {}
function check(ctx, checks)
pcall(function() for i = 1, 1e9 do keep[#keep + 1] = ('x'):rep(4096) .. i end end)
keep[#keep + 1] = 1
end
