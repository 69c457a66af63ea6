-- dealdesk compliance policy
--
-- check(ctx, checks) runs the compliance checks that compliance officers keep
-- in dealdesk (read-only here) against the priced order. The standard kinds
-- are computed by dealdesk over the order (README "Compliance checks"); each
-- adds its results to the order and returns whether it found a problem:
--
--   MIN_MARGIN    dd.check_min_margin(c): every line's total >= its cost x
--                 (1 + bps/10000), i.e. the margin over cost is at least bps;
--                 a line of unknown cost (0) gives WARN, never PASS.
--   MAX_DISCOUNT  dd.check_max_discount(c): every line's reduction from its
--                 list amount (price adjustments and promotions together) is
--                 at most bps of the list amount, and so is the whole order's.
--
-- A check that finds nothing is recorded as passed (dd.check_pass). Checks
-- of other kinds can be written here: return an array of results
--   { check = <id>, status = "PASS" | "WARN" | "BLOCK", message = "...",
--     line = <line number, -1 for the whole order>, value = <computed>,
--     limit = <the check's limit> }
-- and they are added to those of the standard checks. Gift lines (free by
-- design) are never checked. If this policy fails, dealdesk reports BLOCK
-- (fail-safe).

local dd_trace, pass = dd.trace, dd.check_pass

local runners = { MIN_MARGIN = dd.check_min_margin, MAX_DISCOUNT = dd.check_max_discount }

function check(ctx, checks)
  for k = 1, #checks do
    local c = checks[k]
    local run = runners[c.kind]
    if not c.enabled then
      dd_trace("compliance", c.id, false, "disabled")
    elseif run == nil then
      dd_trace("compliance", c.id, false, "unknown check kind " .. c.kind)
    else
      local failed = run(c)
      if not failed then pass(c) end
      dd_trace("compliance", c.id, true, failed and "found problems" or "passed")
    end
  end
  return nil
end
