function check(ctx, checks)
-- a copy of a real check (its slot and id) is not the check
local c = checks[1]
dd.check_min_margin({slot = c.slot, id = c.id, kind = c.kind, bps = c.bps})
end
