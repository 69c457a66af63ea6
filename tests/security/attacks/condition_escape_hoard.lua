return true end
local big = string.rep("x", 1 << 24)
function condition(ctx, promotion)
return #big > 0
