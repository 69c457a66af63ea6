-- dealdesk credit policy
--
-- decide(ctx, credit) decides whether this order may go on credit and on what
-- terms. `credit` holds the customer's standing (minor units of its credit
-- currency):
--   present, same_currency, currency, limit, open_receivables,
--   committed_orders, order_total, exposure (= open receivables + committed
--   orders + this order), available (= limit - exposure), terms_days,
--   overdue_days (derived from the open invoices' due dates at the request
--   time, or finance's figure), tier, next_review_at, hold, blocked,
--   max_order_value (largest first order of a customer without history)
-- It returns { outcome = "APPROVE" | "APPROVE_SHORTER_TERMS" | "DEPOSIT" |
--   "PREPAY" | "REVIEW" | "DECLINE", terms_days = <days>, deposit = <minor
--   units>, reasons = { "CODE: words", ... } }.
-- If this policy fails, dealdesk answers REVIEW (fail-safe).
--
-- Every outcome but APPROVE carries, after its reason, what would approve
-- the order ("TO_APPROVE: ...": the deposit, the largest order total that
-- would be approved, or the payment of overdue or open items that brings
-- it within policy), who may override it ("OVERRIDE: ...") and the figures
-- of every sub-check ("CHECKS: ...").

-- The tier, its thresholds and its terms come from the credit tier table
-- finance keeps as data (CustomerAdmin/PutCreditTiers, every change in
-- ListCreditChanges with who, when, before and after; the built-in table of
-- the README when none is stored). `credit` carries the row that applies:
--   tier, tier_from ("score", "profile", "default"), approve_bps,
--   shorter_bps, deposit_bps (utilisation of the limit, 10000 = 100 %: up to
--   approve_bps APPROVE on standard terms, up to shorter_bps on
--   shorter_terms_days, up to deposit_bps against a deposit of the part
--   above approve_bps), beyond (the outcome past deposit_bps),
--   review_overdue_days, decline_overdue_days; limit and terms_days are the
--   profile's, or the tier's when the profile has none.

-- library functions as locals (globals go through read-only proxies)
local min = math.min
local dd_format, dd_exponent, dd_muldiv, dd_trace = dd.format, dd.exponent, dd.muldiv, dd.trace

-- "12.34%" from basis points
local pct = dd.format_bps

-- who may override each outcome (the method table's roles)
local OVERRIDE = {
  APPROVE_SHORTER_TERMS = "finance (raise the limit or the tier)",
  DEPOSIT = "finance (raise the limit or the tier)",
  PREPAY = "finance (set or raise the credit limit)",
  REVIEW = "finance (ReleaseOrder of the order in CREDIT_HOLD)",
  DECLINE = "finance (lift the block, record the overdue payments)",
}

local function decision(outcome, terms, deposit, reason, to_approve, checks)
  dd_trace("credit", outcome, true, reason)
  local reasons = { reason }
  if outcome ~= "APPROVE" then
    reasons[2] = "TO_APPROVE: " .. (to_approve or "a decision by finance")
    reasons[3] = "OVERRIDE: " .. OVERRIDE[outcome]
    if checks then reasons[4] = "CHECKS: " .. checks end
  end
  return { outcome = outcome, terms_days = terms, deposit = deposit, reasons = reasons }
end

-- the sub-checks with their status and figures, for the checkout and finance
-- (used and tier_name: the utilisation, when it is known)
local function sub_checks(ctx, credit, exponent, used, tier_name)
  local maxv = credit.max_order_value
  local first = ctx.customer.order_count == 0 and maxv > 0
  return "limit " .. (used and (pct(used) .. " used, tier " .. tier_name) or "-") ..
    "; max order value " .. (first and (dd_format(maxv, exponent) ..
      (credit.order_total > maxv and " FAIL" or " PASS")) or "n/a") ..
    "; oldest overdue " .. credit.overdue_days .. " days" ..
    (credit.overdue_days > credit.decline_overdue_days and " FAIL" or
     credit.overdue_days > credit.review_overdue_days and " WARN" or " PASS") ..
    "; review date " .. (credit.next_review_at == 0 and "none" or
      ((ctx.now >= credit.next_review_at) and "due FAIL" or "PASS")) ..
    "; blocked " .. (credit.blocked and "yes FAIL" or "no") ..
    "; hold " .. (credit.hold and "yes WARN" or "no")
end

function decide(ctx, credit)
  local exponent = dd_exponent(credit.currency) or dd_exponent(ctx.currency) or 2
  local limit = credit.limit
  if not credit.present or limit == 0 then
    return decision("PREPAY", 0, 0, "NO_CREDIT_LINE: the customer has no credit limit",
                    "a credit limit set by finance, or payment in advance")
  end
  -- the sub-checks' figures are spelt out only for an outcome that needs them
  -- (sub_checks without a utilisation: the early outcomes below)
  if credit.blocked then
    return decision("DECLINE", 0, 0, "BLOCKED: finance blocked the account",
                    "finance unblocks the account", sub_checks(ctx, credit, exponent))
  end
  if credit.hold then
    return decision("REVIEW", 0, 0, "CREDIT_HOLD: finance put the account on hold",
                    "finance lifts the hold or releases this order",
                    sub_checks(ctx, credit, exponent))
  end
  if not credit.same_currency then
    return decision("REVIEW", 0, 0, "CURRENCY_MISMATCH: credit is kept in " ..
                    credit.currency .. ", the order is in " .. ctx.currency,
                    "the same order in " .. credit.currency, sub_checks(ctx, credit, exponent))
  end
  local tier_name = credit.tier
  if tier_name == "" then
    return decision("REVIEW", 0, 0, "NO_TIER: no row of the credit tier table applies to " ..
                    "this profile and none is the default",
                    "a tier for this customer in the credit tier table",
                    sub_checks(ctx, credit, exponent))
  end
  local overdue = credit.overdue_days
  local review_days, decline_days = credit.review_overdue_days, credit.decline_overdue_days
  if overdue > decline_days then
    return decision("DECLINE", 0, 0, "OVERDUE: oldest open item " .. overdue ..
                    " days past due (decline above " .. decline_days .. ")",
                    "payment of the open items more than " .. review_days ..
                    " days past due", sub_checks(ctx, credit, exponent))
  end
  if overdue > review_days then
    return decision("REVIEW", 0, 0, "OVERDUE: oldest open item " .. overdue ..
                    " days past due (review above " .. review_days .. ")",
                    "payment of the open items more than " .. review_days ..
                    " days past due", sub_checks(ctx, credit, exponent))
  end
  local review_at = credit.next_review_at
  if review_at ~= 0 and ctx.now >= review_at then
    return decision("REVIEW", 0, 0, "REVIEW_DUE: the credit review date has passed",
                    "a credit review by finance (a new next_review_at)",
                    sub_checks(ctx, credit, exponent))
  end
  local maxv = credit.max_order_value
  if ctx.customer.order_count == 0 and maxv > 0 and credit.order_total > maxv then
    return decision("REVIEW", 0, 0, "FIRST_ORDER_OVER_MAXIMUM: order total " ..
                    dd_format(credit.order_total, exponent) .. " is above the " ..
                    dd_format(maxv, exponent) .. " allowed for a customer without history",
                    "an order total of at most " .. dd_format(maxv, exponent),
                    sub_checks(ctx, credit, exponent))
  end

  local tier_from = credit.tier_from
  local scored = tier_from == "score" and (" from score " .. credit.score) or
                 tier_from == "default" and ", the default" or ""
  local exposure = credit.exposure
  -- utilisation of the limit in basis points, rounded up (never flattering)
  local used = dd_muldiv(exposure, 10000, limit, "up")
  local where = "exposure " .. dd_format(exposure, exponent) .. " is " .. pct(used) ..
                " of the limit " .. dd_format(limit, exponent) .. " (tier " .. tier_name ..
                scored .. ")"
  if used <= credit.approve_bps then
    return decision("APPROVE", credit.terms_days, 0, "EXPOSURE_WITHIN_LIMIT: " .. where)
  end
  local checks = sub_checks(ctx, credit, exponent, used, tier_name)
  -- what approves it: an order small enough to stay on the approval line,
  -- or paying down open receivables by the excess
  local line = dd_muldiv(limit, credit.approve_bps, 10000, "down")
  local excess = exposure - line
  local others = exposure - credit.order_total
  local smaller = line - others
  local ways = {}
  if smaller > 0 then
    ways[#ways + 1] = "an order total of at most " .. dd_format(smaller, exponent)
  end
  if credit.open_receivables >= excess then
    ways[#ways + 1] = "a payment of " .. dd_format(excess, exponent) .. " on open receivables"
  end
  local how = #ways > 0 and table.concat(ways, ", or ") or
              "a higher credit limit (the open orders alone exceed the approval line)"
  if used <= credit.shorter_bps then
    return decision("APPROVE_SHORTER_TERMS", min(credit.terms_days, credit.shorter_terms_days), 0,
                    "EXPOSURE_NEAR_LIMIT: " .. where .. "; terms shortened", how, checks)
  end
  if used <= credit.deposit_bps then
    -- the deposit covers the exposure above the approval line
    local deposit = min(excess, credit.order_total)
    return decision("DEPOSIT", credit.terms_days, deposit,
                    "EXPOSURE_OVER_LIMIT: " .. where .. "; deposit " .. dd_format(deposit, exponent),
                    "the deposit of " .. dd_format(deposit, exponent) .. ", or " .. how, checks)
  end
  return decision(credit.beyond, 0, 0, "EXPOSURE_FAR_OVER_LIMIT: " .. where, how, checks)
end

-- The policy's own test cases (README "Policy tests"): `dealdesk policy
-- test policies/credit.lua` runs them; SubmitPolicy runs them before review.
--[=[dealdesk:tests
[
{"name": "tier A: approve at exactly 100 %", "why": "980.00 owed + 20.00", "data": {"prices": [{"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}], "customers": [{"id": "cust", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000, "tier": "A", "standard_terms_days": 30, "open_receivables": 98000, "committed_orders": 0}}]}, "request": {"customer_id": "cust", "currency": "USD", "channel": "web", "lines": [{"sku": "D", "quantity": 1}]}, "expect": {"credit": {"outcome": "APPROVE", "payment_terms_days": 30, "deposit_amount": 0, "reason": "EXPOSURE_WITHIN_LIMIT: exposure 1000.00 is 100.00% of the limit 1000.00 (tier A)", "exposure": 100000, "available_credit": 0, "credit_limit": 100000, "tier": "A"}}},
{"name": "tier A: one cent above 100 % shortens the terms", "why": "100.001 % rounds up to 100.01 %", "data": {"prices": [{"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}], "customers": [{"id": "cust", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000, "tier": "A", "standard_terms_days": 30, "open_receivables": 98001, "committed_orders": 0}}]}, "request": {"customer_id": "cust", "currency": "USD", "channel": "web", "lines": [{"sku": "D", "quantity": 1}]}, "expect": {"credit": {"outcome": "APPROVE_SHORTER_TERMS", "payment_terms_days": 15, "deposit_amount": 0, "reason": "EXPOSURE_NEAR_LIMIT: exposure 1000.01 is 100.01% of the limit 1000.00 (tier A); terms shortened", "available_credit": -1}}},
{"name": "tier A: shorter terms at exactly 110 %", "data": {"prices": [{"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}], "customers": [{"id": "cust", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000, "tier": "A", "standard_terms_days": 30, "open_receivables": 108000, "committed_orders": 0}}]}, "request": {"customer_id": "cust", "currency": "USD", "channel": "web", "lines": [{"sku": "D", "quantity": 1}]}, "expect": {"credit": {"outcome": "APPROVE_SHORTER_TERMS", "payment_terms_days": 15, "deposit_amount": 0, "reason_prefix": "EXPOSURE_NEAR_LIMIT:"}}}
]
]=]
