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
--                 at most bps of the list amount, and so is the whole order's
--                 (limited to the check's customer_tiers when it has some).
--
-- A check that finds nothing is recorded as passed (dd.check_pass). Checks
-- of other kinds can be written here: return an array of results
--   { check = <id>, status = "PASS" | "WARN" | "BLOCK", message = "...",
--     line = <line number, -1 for the whole order>, value = <computed>,
--     limit = <the check's limit>, promotion = <id>, evidence = <id(s)> }
-- and they are added to those of the standard checks. Gift lines (free by
-- design) are never checked. If this policy fails, dealdesk reports BLOCK
-- (fail-safe).
--
-- Price claims (README "Price history and price claims"). dd.claims() gives
-- each offer to judge: in a quote, every line once per promotion that
-- reduced it (or once at its price); at authoring (ctx.authoring, a
-- promotion or price being written) the offers the write would make. The
-- checks below read the price history of a claim with
--   dd.list_prices(claim, from, to)  the effective list price over [from, to)
--   dd.applied_prices(claim, from, to) the lowest price applied to everyone:
--                                    list prices lowered by the public
--                                    promotions then in force (but the claim's)
--   dd.sales(claim, from, to)        the transaction prices in [from, to)
--   dd.last_sale(claim, before)      the last transaction price before
-- and cite what they read as `evidence`: the result then carries that
-- series and its SHA-256. Every claim kind returns the values it computed
-- and a message a compliance officer can act on.

local dd_trace, pass = dd.trace, dd.check_pass
local floor = math.floor

local DAY = 86400

-- The windows and exemptions per jurisdiction (the claim's region, else
-- the default of the check's kind). Compliance officers edit this table
-- to match each transposition; a check's window_days overrides the window.
--   perishable   goods liable to deteriorate are exempt (98/6/EC art. 6a(3))
--   progressive  a progressive reduction keeps the price before the first
--                reduction (art. 6a(5))
--   new_product  a product on sale for less than the window: the lowest
--                price since it went on sale (art. 6a(4))
local jurisdictions = {
  EU = { window_days = 30, perishable = true, progressive = true, new_product = true },
  DE = { window_days = 30, perishable = true, progressive = true, new_product = true },
  FR = { window_days = 30, perishable = true, progressive = true, new_product = true },
  IT = { window_days = 30, perishable = true, progressive = true, new_product = true },
  ES = { window_days = 30, perishable = true, progressive = true, new_product = true },
  NL = { window_days = 30, perishable = true, progressive = true, new_product = true },
  -- SAMR 规范促销行为暂行规定: 7 days; raise_days: how shortly before a
  -- discount a raise counts as one
  CN = { window_days = 7, raise_days = 7 },
  -- 16 CFR 233.1: "a reasonably substantial period"; share_bps of it
  US = { window_days = 90, share_bps = 5000 },
}
local default_jurisdiction = {
  EU_PRIOR_PRICE = "EU", CN_REFERENCE_PRICE = "CN", US_FORMER_PRICE = "US",
}

-- ---- formatting ------------------------------------------------------------

local function money(v, exp)
  local neg = v < 0
  if neg then v = -v end
  if exp <= 0 then return (neg and "-" or "") .. tostring(v) end
  local unit = floor(10 ^ exp + 0.5)
  local s = string.format("%d.%0" .. exp .. "d", v // unit, v % unit)
  return (neg and "-" or "") .. s
end

-- "12.34%" from basis points
local pct = dd.format_bps

-- "2026-09-21" from Unix seconds (civil from days, H. Hinnant)
local function date(t)
  local z = t // DAY + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format("%04d-%02d-%02d", y, m, d)
end

-- what the lowest point of a series was: a list price or a promotion
local function low_source(h)
  for _, p in ipairs(h.points) do
    if p.price == h.low then
      return p.promotion and ("promotion " .. p.promotion) or ("list " .. p.ref)
    end
  end
  return "list"
end

-- the reduction from base to offer in bps, rounded down (never flattering)
local function reduction_bps(base, offer)
  if base <= 0 or offer >= base then return 0 end
  return (base - offer) * 10000 // base
end

-- ---- which claims a check judges --------------------------------------------

local function in_set(set, v, any_ok)
  if set == nil then return true end
  if v == "" then return any_ok end -- "every region": includes the check's
  return set[v] == true
end

local function judges(c, claim)
  if c.skus ~= nil and not c.skus[claim.sku] then return false end
  return in_set(c.regions, claim.region, true) and in_set(c.channels, claim.channel, true)
end

local function jurisdiction(c, claim)
  local j = jurisdictions[claim.region]
  if j == nil then j = jurisdictions[default_jurisdiction[c.kind]] end
  return j or {}
end

-- a promotion that announces a reduction (a "was" price or a rate), or
-- gives one
local function reduces(claim)
  return claim.promotion ~= "" and claim.has_list and
    (claim.reference_price > 0 or claim.announced_bps > 0 or claim.offer_price < claim.list_price)
end

local function failing(c)
  return c.on_fail == "WARN" and "WARN" or "BLOCK"
end

local function result(c, claim, status, value, limit, message, evidence)
  return { check = c.id, status = status, value = value, limit = limit or 0,
           line = claim.line, promotion = claim.promotion, message = message,
           evidence = evidence }
end

local function where(claim)
  local s = claim.sku
  if claim.authoring then s = s .. " (" .. claim.currency .. ")" end
  if claim.promotion ~= "" then s = s .. " in promotion " .. claim.promotion end
  return s
end

-- ---- the claim checks ---------------------------------------------------------

local claim_checks = {}

-- EU 98/6/EC art. 6a; CJEU C-330/23: the prior price shown is the lowest
-- price of at least the window before the reduction, and an announced
-- percentage is computed from it.
function claim_checks.EU_PRIOR_PRICE(c, claim, out)
  if not reduces(claim) then return end
  if claim.reference_price == 0 and claim.announced_bps == 0 then return end
  local j = jurisdiction(c, claim)
  local days = c.window_days > 0 and c.window_days or (j.window_days or 30)
  local e = claim.exponent
  if claim.perishable and j.perishable then
    out[#out + 1] = result(c, claim, "PASS", 0, 0, where(claim) ..
      ": perishable goods, exempt from the prior-price rule here")
    return
  end
  local ends, progressive = claim.start, false
  if j.progressive and claim.first_start < claim.start then
    ends, progressive = claim.first_start, true
  end
  local from = ends - days * DAY
  -- the lowest price applied to everyone: list prices and earlier public
  -- promotions (not this one)
  local h = dd.applied_prices(claim, from, ends)
  if h.low == nil then
    out[#out + 1] = result(c, claim, failing(c), 0, 0, string.format(
      "%s: no list price in the %d days before %s: there is no prior price to announce; " ..
      "remove the reference price and percentage", where(claim), days, date(ends)), h.evidence)
    return
  end
  local since = ""
  if j.new_product and h.points[1].from > from then
    since = string.format(" (on sale since %s, less than %d days)", date(h.points[1].from), days)
  end
  local prior = h.low
  local span = string.format("the lowest price of the %d days before %s%s%s was %s (%s, %s to %s)",
    days, date(ends), progressive and " (the first of these progressive reductions)" or "",
    since, money(prior, e), low_source(h), date(h.low_from), date(h.low_to))
  if claim.reference_price > prior then
    out[#out + 1] = result(c, claim, failing(c), prior, claim.reference_price, string.format(
      "%s: announced prior price %s is above %s; show %s as the prior price",
      where(claim), money(claim.reference_price, e), span, money(prior, e)), h.evidence)
    return
  end
  if claim.announced_bps > 0 then
    local real = reduction_bps(prior, claim.offer_price)
    if claim.announced_bps > real then
      out[#out + 1] = result(c, claim, failing(c), real, claim.announced_bps, string.format(
        "%s: announced reduction %s, but from the prior price %s the price %s is %s off " ..
        "(%s); announce at most %s", where(claim), pct(claim.announced_bps), money(prior, e),
        money(claim.offer_price, e), pct(real), span, pct(real)), h.evidence)
      return
    end
  end
  out[#out + 1] = result(c, claim, "PASS", prior, claim.reference_price, string.format(
    "%s: prior price %s: %s", where(claim), money(prior, e), span), h.evidence)
end

-- China: the discount base without a stated reference is the lowest
-- transaction price of the window before the promotion, else the last
-- transaction price; no raise shortly before; no fictitious reference.
function claim_checks.CN_REFERENCE_PRICE(c, claim, out)
  if not reduces(claim) then return end
  local j = jurisdiction(c, claim)
  local days = c.window_days > 0 and c.window_days or (j.window_days or 7)
  local e, start = claim.exponent, claim.start
  local from = start - days * DAY
  local found = false
  -- raised shortly before the discount?
  local raise_from = start - (j.raise_days or days) * DAY
  local list = dd.list_prices(claim, raise_from, start)
  local lowest = nil
  for _, p in ipairs(list.points) do
    if lowest ~= nil and p.price > lowest.price then
      out[#out + 1] = result(c, claim, failing(c), p.price, lowest.price, string.format(
        "%s: the list price was raised from %s (%s) to %s on %s, within %d days before the " ..
        "promotion of %s; a price raised before a discount may not be the base of it",
        where(claim), money(lowest.price, e), date(lowest.from), money(p.price, e),
        date(p.from), j.raise_days or days, date(start)), list.evidence)
      found = true
      break
    end
    if lowest == nil or p.price < lowest.price then lowest = p end
  end
  local sales = dd.sales(claim, from, start)
  if claim.reference_price > 0 then
    -- a comparison price must be one really offered or sold in the window
    local real = false
    for _, p in ipairs(list.points) do
      if p.price >= claim.reference_price and p.to > from then real = true end
    end
    for _, p in ipairs(sales.points) do
      if p.price >= claim.reference_price then real = true end
    end
    if not real then
      out[#out + 1] = result(c, claim, failing(c), list.low or 0, claim.reference_price,
        string.format("%s: the comparison price %s was neither a list price nor a transaction " ..
          "price in the %d days before %s (lowest list %s); it is fictitious: remove it",
          where(claim), money(claim.reference_price, e), days, date(start),
          list.low and money(list.low, e) or "none"), { list.evidence, sales.evidence })
      return
    end
  elseif claim.announced_bps > 0 or claim.offer_price < claim.list_price then
    local base, basis, ev = nil, nil, { sales.evidence }
    if sales.low ~= nil then
      base = sales.low
      basis = string.format("the lowest transaction price of the %d days before %s (%s on %s)",
        days, date(start), money(sales.low, e), date(sales.low_at))
    else
      local last = dd.last_sale(claim, start)
      ev[#ev + 1] = last.evidence
      if last.found then
        base = last.price
        basis = string.format("no sale in the %d days before %s; the last transaction price " ..
          "(%s on %s)", days, date(start), money(last.price, e), date(last.at))
      end
    end
    if base == nil then
      out[#out + 1] = result(c, claim, "PASS", 0, 0, string.format(
        "%s: never sold before %s: no transaction price to compare with", where(claim),
        date(start)), ev)
      return
    end
    local real = reduction_bps(base, claim.offer_price)
    local said = claim.announced_bps > 0 and claim.announced_bps or
      reduction_bps(claim.list_price, claim.offer_price)
    if said > real then
      out[#out + 1] = result(c, claim, failing(c), real, said, string.format(
        "%s: shown as %s off, but the discount base is %s, from which %s is %s off; " ..
        "announce at most %s", where(claim), pct(said), basis, money(claim.offer_price, e),
        pct(real), pct(real)), ev)
      return
    end
    if not found then
      out[#out + 1] = result(c, claim, "PASS", base, said, string.format(
        "%s: discount base %s", where(claim), basis), ev)
    end
    return
  end
  if not found then
    out[#out + 1] = result(c, claim, "PASS", claim.reference_price, 0, string.format(
      "%s: comparison price %s was offered in the %d days before %s", where(claim),
      money(claim.reference_price, e), days, date(start)), { list.evidence, sales.evidence })
  end
end

-- 16 CFR 233.1: a former price is one at which the article was openly
-- offered for a reasonably substantial period.
function claim_checks.US_FORMER_PRICE(c, claim, out)
  if claim.promotion == "" or claim.reference_price == 0 or not claim.has_list then return end
  local j = jurisdiction(c, claim)
  local days = c.window_days > 0 and c.window_days or (j.window_days or 90)
  local share = c.share_bps > 0 and c.share_bps or (j.share_bps or 5000)
  local e, start = claim.exponent, claim.start
  local h = dd.list_prices(claim, start - days * DAY, start)
  local offered = 0
  for _, p in ipairs(h.points) do
    if p.price == claim.reference_price then offered = offered + (p.to - p.from) end
  end
  local got = offered * 10000 // (days * DAY)
  if got < share then
    out[#out + 1] = result(c, claim, failing(c), got, share, string.format(
      "%s: former price %s was the list price for %d of the %d days before %s (%s); " ..
      "a former price needs %s of them: use a price offered that long",
      where(claim), money(claim.reference_price, e), offered // DAY, days, date(start),
      pct(got), pct(share)), h.evidence)
    return
  end
  out[#out + 1] = result(c, claim, "PASS", got, share, string.format(
    "%s: former price %s offered for %s of the %d days before %s", where(claim),
    money(claim.reference_price, e), pct(got), days, date(start)), h.evidence)
end

-- Minimum advertised price: limits the advertised (couponless) promotion
-- price, not the selling price.
function claim_checks.MIN_ADVERTISED_PRICE(c, claim, out)
  if claim.promotion == "" or not claim.advertised or c.amount <= 0 or not claim.has_list then
    return
  end
  if claim.offer_price < c.amount then
    out[#out + 1] = result(c, claim, failing(c), claim.offer_price, c.amount, string.format(
      "%s: advertised price %s is below the minimum advertised price %s; advertise at least " ..
      "%s or make the offer a coupon", where(claim), money(claim.offer_price, claim.exponent),
      money(c.amount, claim.exponent), money(c.amount, claim.exponent)))
    return true
  end
end

function claim_checks.RESTRICTED_SKU(c, claim, out)
  if c.skus == nil or not c.skus[claim.sku] then return end
  local where_ = (claim.region ~= "" and ("region " .. claim.region) or "every region") ..
    ", " .. (claim.channel ~= "" and ("channel " .. claim.channel) or "every channel")
  out[#out + 1] = result(c, claim, failing(c), 0, 0, string.format(
    "%s may not be sold in %s (%s); remove it from the %s", where(claim), where_,
    c.description ~= "" and c.description or c.id,
    claim.authoring and "offer, or limit its regions and channels" or "order"))
  return true
end

function claim_checks.DISCLOSURE(c, claim, out, seen)
  if claim.promotion == "" or seen[claim.promotion] then return end
  seen[claim.promotion] = true
  local missing = {}
  if claim.conditional and claim.terms == "" then
    missing[#missing + 1] = "its conditions (terms)"
  end
  if claim.valid_to > 0 and claim.valid_from == 0 then
    missing[#missing + 1] = "the start of its period (it ends " .. date(claim.valid_to) .. ")"
  end
  if claim.valid_to > 0 and claim.terms == "" then
    missing[#missing + 1] = string.format("terms showing its period (until %s)", date(claim.valid_to))
  end
  if #missing > 0 then
    out[#out + 1] = result(c, claim, failing(c), #missing, 0, string.format(
      "promotion %s does not carry %s; add them before it is shown", claim.promotion,
      table.concat(missing, " and ")))
    return true
  end
end

-- the order checks, judged on a claim at authoring (no order yet)
function claim_checks.MIN_MARGIN(c, claim, out)
  if not claim.authoring or claim.unit_cost <= 0 or not claim.has_list then return end
  local floor_ = -((-claim.unit_cost * (10000 + c.bps)) // 10000)
  if claim.offer_price < floor_ then
    out[#out + 1] = result(c, claim, failing(c), claim.offer_price, floor_, string.format(
      "%s: price %s is below cost %s plus %s (%s)", where(claim),
      money(claim.offer_price, claim.exponent), money(claim.unit_cost, claim.exponent),
      pct(c.bps), money(floor_, claim.exponent)))
    return true
  end
end

function claim_checks.MAX_DISCOUNT(c, claim, out)
  if not claim.authoring or claim.promotion == "" or claim.list_price <= 0 then return end
  if c.customer_tiers ~= nil and #claim.customer_tiers > 0 then
    local any = false
    for _, t in ipairs(claim.customer_tiers) do if c.customer_tiers[t] then any = true end end
    if not any then return end
  end
  local d = -((-(claim.list_price - claim.offer_price) * 10000) // claim.list_price)
  if d > c.bps then
    out[#out + 1] = result(c, claim, failing(c), d, c.bps, string.format(
      "%s: discount %s from list %s exceeds %s", where(claim), pct(d),
      money(claim.list_price, claim.exponent), pct(c.bps)))
    return true
  end
end

-- kinds whose PASS is one result per check (the others pass per claim)
local once = { MIN_ADVERTISED_PRICE = true, RESTRICTED_SKU = true, DISCLOSURE = true,
               MIN_MARGIN = true, MAX_DISCOUNT = true }

local check_min_margin, check_max_discount = dd.check_min_margin, dd.check_max_discount

-- The order checks run natively at checkout; every other kind (and the
-- order checks at authoring) is judged on the claims. Kinds are compared as
-- strings, and the result table made only when a claim check runs: the
-- checkout of an order with only order checks stays as cheap as it was.
function check(ctx, checks)
  local out, claims = nil, nil
  local authoring = ctx.authoring
  for k = 1, #checks do
    local c = checks[k]
    local kind = c.kind
    local order_check = kind == "MIN_MARGIN" or kind == "MAX_DISCOUNT"
    if not c.enabled then
      dd_trace("compliance", c.id, false, "disabled")
    elseif order_check and not authoring then
      local failed
      if kind == "MIN_MARGIN" then failed = check_min_margin(c) else failed = check_max_discount(c) end
      if not failed then pass(c) end
      dd_trace("compliance", c.id, true, failed and "found problems" or "passed")
    else
      local judge = claim_checks[kind]
      if judge == nil then
        dd_trace("compliance", c.id, false, "unknown check kind " .. kind)
      else
        out = out or {}
        claims = claims or dd.claims()
        local failed, seen = false, {}
        for i = 1, #claims do
          if judges(c, claims[i]) and judge(c, claims[i], out, seen) then failed = true end
        end
        if not order_check then
          -- results of the history checks say themselves whether they passed
          for i = 1, #out do
            if out[i].check == c.id and out[i].status ~= "PASS" then failed = true end
          end
        end
        if not failed and once[kind] then pass(c) end
        dd_trace("compliance", c.id, true, failed and "found problems" or "passed")
      end
    end
  end
  return out
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
