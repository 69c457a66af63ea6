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

local function pct(bps)
  return string.format("%d.%02d%%", bps // 100, bps % 100)
end

local function decision(outcome, terms, deposit, reason)
  dd.trace("credit", outcome, true, reason)
  return { outcome = outcome, terms_days = terms, deposit = deposit,
           reasons = { reason } }
end

function decide(ctx, credit)
  local m = function(v) return dd.format(v, dd.exponent(credit.currency) or 2) end
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
  if credit.overdue_days > DECLINE_OVERDUE_DAYS then
    return decision("DECLINE", 0, 0, string.format(
      "OVERDUE: oldest open item %d days past due (decline above %d)",
      credit.overdue_days, DECLINE_OVERDUE_DAYS))
  end
  if credit.overdue_days > REVIEW_OVERDUE_DAYS then
    return decision("REVIEW", 0, 0, string.format(
      "OVERDUE: oldest open item %d days past due (review above %d)",
      credit.overdue_days, REVIEW_OVERDUE_DAYS))
  end
  if credit.next_review_at ~= 0 and ctx.now >= credit.next_review_at then
    return decision("REVIEW", 0, 0, "REVIEW_DUE: the credit review date has passed")
  end

  local tier_name = tiers[credit.tier] and credit.tier or default_tier
  local tier = tiers[tier_name]
  -- utilisation of the limit in basis points, rounded up (never flattering)
  local used = dd.muldiv(credit.exposure, 10000, credit.limit, "up")
  local where = string.format("exposure %s is %s of the limit %s (tier %s)",
                              m(credit.exposure), pct(used), m(credit.limit), tier_name)
  if used <= tier.approve then
    return decision("APPROVE", credit.terms_days, 0, "EXPOSURE_WITHIN_LIMIT: " .. where)
  end
  if used <= tier.shorter then
    return decision("APPROVE_SHORTER_TERMS", math.min(credit.terms_days, SHORTER_TERMS_DAYS), 0,
                    "EXPOSURE_NEAR_LIMIT: " .. where .. "; terms shortened")
  end
  if used <= tier.deposit then
    -- the deposit covers the exposure above the approval line
    local line = dd.muldiv(credit.limit, tier.approve, 10000, "down")
    local deposit = math.min(credit.exposure - line, credit.order_total)
    return decision("DEPOSIT", credit.terms_days, deposit,
                    "EXPOSURE_OVER_LIMIT: " .. where .. "; deposit " .. m(deposit))
  end
  return decision(tier.beyond, 0, 0, "EXPOSURE_FAR_OVER_LIMIT: " .. where)
end
