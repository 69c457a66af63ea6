-- 9.4 MiB kept by the top level, past the 8 MiB a script may keep: 40
-- strings of 240 KiB (each under the 256 KiB string cap). Few allocations,
-- not 300,000 tables, so that the refusal comes from the memory a script
-- keeps and not from the time budget, even under ASan on a busy machine.
local big = {}
for i = 1, 40 do big[i] = ("x"):rep(240 * 1024) end
function check(ctx, checks)
return #big[1] > 0 and nil
end
