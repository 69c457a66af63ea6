function decide(ctx, credit)
local r = {} for i = 1, 1e6 do r[i] = 'reason' end return {outcome = 'APPROVE', reasons = r}
end
