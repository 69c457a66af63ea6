return true end
while true do end
local function _rest()
