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

-- The policy's own test cases (README "Policy tests"): `dealdesk policy
-- test policies/compliance.lua` runs them; SubmitPolicy runs them before review.
--[=[dealdesk:tests
[
{"name": "every check passes at list prices", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "checks": [{"id": "mm5", "kind": "MIN_MARGIN", "bps": 500, "on_fail": "BLOCK", "enabled": true, "description": "mm5"}, {"id": "md30", "kind": "MAX_DISCOUNT", "bps": 3000, "on_fail": "WARN", "enabled": true, "description": "md30"}, {"id": "md50", "kind": "MAX_DISCOUNT", "bps": 5000, "on_fail": "BLOCK", "enabled": true, "description": "md50"}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 1}, {"sku": "D", "quantity": 2}]}, "expect": {"compliance": {"mm5": "PASS", "md30": "PASS", "md50": "PASS"}, "compliance_status": "PASS"}},
{"name": "min margin: exactly cost plus 5 % passes", "why": "cost 4.00 x 1.05 = 4.20", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "checks": [{"id": "mm5", "kind": "MIN_MARGIN", "bps": 500, "on_fail": "BLOCK", "enabled": true, "description": "mm5"}], "promotions": [{"id": "FP", "name": "FP", "kind": "FIXED_PRICE", "enabled": true, "skus": ["A"], "amount": 420, "currency": "USD"}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 1}]}, "expect": {"compliance": {"mm5": "PASS"}, "compliance_status": "PASS"}},
{"name": "min margin: one cent below blocks", "why": "0.19 over cost is 4.75 %", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "checks": [{"id": "mm5", "kind": "MIN_MARGIN", "bps": 500, "on_fail": "BLOCK", "enabled": true, "description": "mm5"}], "promotions": [{"id": "FP", "name": "FP", "kind": "FIXED_PRICE", "enabled": true, "skus": ["A"], "amount": 419, "currency": "USD"}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 1}]}, "expect": {"compliance": {"mm5": "BLOCK"}, "compliance_status": "BLOCK"}}
]
]=]
