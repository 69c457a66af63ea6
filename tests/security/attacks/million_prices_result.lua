function price(ctx)
local r = {} for i = 1, 1e6 do r[i] = false end r[1] = nil return r
end
