function check(ctx, checks)
local r = {} for i = 1, 1e6 do r[i] = 0 end return r
end
