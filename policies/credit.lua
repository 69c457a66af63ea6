-- dealdesk credit policy
--
-- decide(ctx, credit) decides whether this order may go on credit and on what
-- terms. `credit` holds the customer's standing (minor units of its credit
-- currency):
--   present, same_currency, currency, limit, open_receivables,
--   committed_orders, order_total, exposure (= open receivables + committed
--   orders + this order), available (= limit - exposure), terms_days,
--   overdue_days, tier, next_review_at, hold
-- It returns { outcome = "APPROVE" | "APPROVE_SHORTER_TERMS" | "DEPOSIT" |
--   "PREPAY" | "REVIEW" | "DECLINE", terms_days = <days>, deposit = <minor
--   units>, reasons = { "CODE: words", ... } }.
-- If this policy fails, dealdesk answers REVIEW (fail-safe).

-- How far each tier may go, as a share of the credit limit in basis points
-- (10000 = 100 % of the limit). Up to `approve` the order is approved on
-- standard terms; up to `shorter` on shorter terms; up to `deposit` against a
-- deposit of the part above `approve`; beyond that, `beyond`.
local tiers = {
  A = { approve = 10000, shorter = 11000, deposit = 13000, beyond = "REVIEW" },
  B = { approve = 9000,  shorter = 10000, deposit = 12000, beyond = "REVIEW" },
  C = { approve = 8000,  shorter = 9000,  deposit = 10000, beyond = "PREPAY" },
  D = { approve = 0,     shorter = 0,     deposit = 8000,  beyond = "PREPAY" },
}
local default_tier = "C"

local SHORTER_TERMS_DAYS = 15   -- net 15 instead of the standard terms
local REVIEW_OVERDUE_DAYS = 60  -- oldest open item this late: manual review
local DECLINE_OVERDUE_DAYS = 90 -- this late: decline

-- library functions as locals (globals go through read-only proxies)
local min = math.min
local dd_format, dd_exponent, dd_muldiv, dd_trace = dd.format, dd.exponent, dd.muldiv, dd.trace

-- "12.34%" from basis points (>= 0)
local function pct(bps)
  local frac = bps % 100
  return (bps // 100) .. (frac < 10 and ".0" or ".") .. frac .. "%"
end

local function decision(outcome, terms, deposit, reason)
  dd_trace("credit", outcome, true, reason)
  return { outcome = outcome, terms_days = terms, deposit = deposit,
           reasons = { reason } }
end

function decide(ctx, credit)
  if not credit.present or credit.limit == 0 then
    return decision("PREPAY", 0, 0, "NO_CREDIT_LINE: the customer has no credit limit")
  end
  if credit.hold then
    return decision("REVIEW", 0, 0, "CREDIT_HOLD: finance put the account on hold")
  end
  if not credit.same_currency then
    return decision("REVIEW", 0, 0, "CURRENCY_MISMATCH: credit is kept in " ..
                    credit.currency .. ", the order is in " .. ctx.currency)
  end
  local overdue = credit.overdue_days
  if overdue > DECLINE_OVERDUE_DAYS then
    return decision("DECLINE", 0, 0, "OVERDUE: oldest open item " .. overdue ..
                    " days past due (decline above " .. DECLINE_OVERDUE_DAYS .. ")")
  end
  if overdue > REVIEW_OVERDUE_DAYS then
    return decision("REVIEW", 0, 0, "OVERDUE: oldest open item " .. overdue ..
                    " days past due (review above " .. REVIEW_OVERDUE_DAYS .. ")")
  end
  local review_at = credit.next_review_at
  if review_at ~= 0 and ctx.now >= review_at then
    return decision("REVIEW", 0, 0, "REVIEW_DUE: the credit review date has passed")
  end

  local tier_name = credit.tier
  local tier = tiers[tier_name]
  if tier == nil then tier_name, tier = default_tier, tiers[default_tier] end
  local exposure, limit = credit.exposure, credit.limit
  -- utilisation of the limit in basis points, rounded up (never flattering)
  local used = dd_muldiv(exposure, 10000, limit, "up")
  local exponent = dd_exponent(credit.currency) or 2
  local where = "exposure " .. dd_format(exposure, exponent) .. " is " .. pct(used) ..
                " of the limit " .. dd_format(limit, exponent) .. " (tier " .. tier_name .. ")"
  if used <= tier.approve then
    return decision("APPROVE", credit.terms_days, 0, "EXPOSURE_WITHIN_LIMIT: " .. where)
  end
  if used <= tier.shorter then
    return decision("APPROVE_SHORTER_TERMS", min(credit.terms_days, SHORTER_TERMS_DAYS), 0,
                    "EXPOSURE_NEAR_LIMIT: " .. where .. "; terms shortened")
  end
  if used <= tier.deposit then
    -- the deposit covers the exposure above the approval line
    local line = dd_muldiv(limit, tier.approve, 10000, "down")
    local deposit = min(exposure - line, credit.order_total)
    return decision("DEPOSIT", credit.terms_days, deposit,
                    "EXPOSURE_OVER_LIMIT: " .. where .. "; deposit " .. dd_format(deposit, exponent))
  end
  return decision(tier.beyond, 0, 0, "EXPOSURE_FAR_OVER_LIMIT: " .. where)
end
