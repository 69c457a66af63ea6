local n = 0
local function bump() n = n + 1 end
function price(ctx)
bump()
end
