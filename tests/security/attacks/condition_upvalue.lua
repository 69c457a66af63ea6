return true end
local n = 0
function condition(ctx, promotion)
n = n + 1
return n > 1