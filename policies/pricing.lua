-- dealdesk pricing policy
--
-- Decides each line's unit price before any promotion. The price entry has
-- already been chosen (by currency, channel, region, customer group,
-- validity and quantity tier); this policy may lower its list price:
--
--   member price      customers of some groups pay less than list;
--   clearance         when stock on hand covers too many weeks of demand;
--   competitor match  when a competitor's recent price in the same currency
--                     is lower.
--
-- The lowest of these wins, then it is held within the SKU's floor and
-- ceiling (PriceEntry floor_price / ceiling_price; dealdesk enforces them
-- too). Market signals older than SIGNAL_MAX_AGE_DAYS are ignored: a
-- clearance markdown needs both a fresh stock count and a fresh demand
-- estimate.
--
-- price(ctx) returns a table indexed by line position (1, 2, ...). An entry
--   { unit_price = <minor units>, reason = "<why>" }
-- changes that line's unit price; a line without an entry keeps its list
-- price (nil instead of a table: no line changes). Amounts are integers in
-- minor units (cents, yen, fils).

-- Member prices: list price less this many basis points (100 bp = 1 %).
local member_discount_bps = {
  wholesale = 1000,   -- 10 % below list
}

-- Clearance markdowns by weeks of cover (stock / weekly demand), highest
-- first. No demand at all counts as unlimited cover.
local clearance = {
  { weeks = 26, bps = 3000 },   -- half a year of stock or more: 30 % off
  { weeks = 12, bps = 1500 },   -- a quarter or more: 15 % off
}

local COMPETITOR_MAX_AGE_DAYS = 7
local SIGNAL_MAX_AGE_DAYS = 14
local DAY = 86400

-- library functions as locals (globals go through read-only proxies)
local ipairs = ipairs
local dd_bps, dd_mul, dd_format, dd_trace = dd.bps, dd.mul, dd.format, dd.trace

-- "12.34%" from basis points
local pct = dd.format_bps

local function fresh(ctx, at, days)
  return at > 0 and ctx.now - at <= days * DAY and at <= ctx.now
end

-- the clearance markdown for a line, or nil. Both the stock count and the
-- demand estimate must be fresh: without a current demand figure the weeks
-- of cover are unknown, and no markdown is given.
local function clearance_bps(ctx, s)
  if s.inventory <= 0 then return nil end
  if not fresh(ctx, s.inventory_at, SIGNAL_MAX_AGE_DAYS) then return nil end
  if not fresh(ctx, s.demand_at, SIGNAL_MAX_AGE_DAYS) then return nil end
  for _, step in ipairs(clearance) do
    -- cover >= weeks  <=>  inventory >= weeks * demand (no division)
    if s.demand_per_week == 0 or s.inventory >= dd_mul(step.weeks, s.demand_per_week) then
      return step.bps, step.weeks
    end
  end
  return nil
end

-- the lowest recent competitor price in the order's currency, or nil
local function competitor_price(ctx, s)
  local best, who = nil, nil
  for _, c in ipairs(s.competitors) do
    if c.currency == ctx.currency and fresh(ctx, c.observed_at, COMPETITOR_MAX_AGE_DAYS)
       and (best == nil or c.price < best or (c.price == best and c.competitor < who)) then
      best, who = c.price, c.competitor
    end
  end
  return best, who
end

function price(ctx)
  local result = nil
  local group = ctx.customer.group
  local member_bps = member_discount_bps[group]
  local lines = ctx.lines
  for i = 1, #lines do
    local line = lines[i]
    local list = line.list_price
    local best, why = list, nil
    if member_bps then
      local p = list - dd_bps(list, member_bps, line.rounding)
      if p < best then
        best = p
        why = "member price for group " .. group .. ": " .. pct(member_bps) .. " below list"
      end
    end
    local s = line.signals
    if s ~= nil then
      local cbps, weeks = clearance_bps(ctx, s)
      if cbps then
        local p = list - dd_bps(list, cbps, line.rounding)
        if p < best then
          best = p
          why = "clearance: stock covers " .. weeks .. "+ weeks of demand, " .. pct(cbps) .. " off"
        end
      end
      local comp, who = competitor_price(ctx, s)
      if comp and comp < best then
        best = comp
        why = "competitor match: " .. who .. " sells at " .. dd_format(comp, ctx.exponent)
      end
    end
    local floor, ceiling = line.floor, line.ceiling
    if floor > 0 and best < floor then
      best = floor
      why = (why and why .. "; " or "") .. "held at the floor " .. dd_format(floor, ctx.exponent)
    end
    if ceiling > 0 and best > ceiling then
      best = ceiling
      why = (why and why .. "; " or "") .. "held at the ceiling " .. dd_format(ceiling, ctx.exponent)
    end
    if why then
      result = result or {}
      result[i] = { unit_price = best, reason = why }
      dd_trace("pricing", line.sku, true, "line " .. line.no .. ": " .. list .. " -> " .. best ..
               ": " .. why)
    end
  end
  return result
end

-- The policy's own test cases (README "Policy tests"): `dealdesk policy
-- test policies/pricing.lua` runs them; SubmitPolicy runs them before review.
--[=[dealdesk:tests
[
{"name": "list price without signals or membership", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 2}]}, "expect": {"lines": [{"unit_list_price": 1000, "unit_price": 1000, "price_reason": "", "line_subtotal": 2000}], "total": 2000}},
{"name": "member price, half up", "why": "10 % of 10.05 = 1.005 -> 1.01 (half up): 9.04; 3 x 9.04 = 27.12", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1005, "unit_cost": 0, "category": "x", "rounding": "HALF_UP"}], "customers": [{"id": "wh", "customer_group": "wholesale", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}]}, "request": {"customer_id": "wh", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 3}]}, "expect": {"lines": [{"unit_price": 904, "price_reason": "member price for group wholesale: 10.00% below list", "line_subtotal": 2712}], "subtotal": 2712}},
{"name": "member price, half even and down", "why": "1.005 -> 1.00 (half even), 1.009 -> 1.00 (down), 1.001 -> 1.01 (up)", "data": {"prices": [{"price_list_id": "usd", "sku": "E", "currency": "USD", "unit_price": 1005, "unit_cost": 0, "category": "x", "rounding": "HALF_EVEN"}, {"price_list_id": "usd", "sku": "F", "currency": "USD", "unit_price": 1009, "unit_cost": 0, "category": "x", "rounding": "DOWN"}, {"price_list_id": "usd", "sku": "U", "currency": "USD", "unit_price": 1001, "unit_cost": 0, "category": "x", "rounding": "UP"}], "customers": [{"id": "wh", "customer_group": "wholesale", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}]}, "request": {"customer_id": "wh", "currency": "USD", "channel": "web", "lines": [{"sku": "E", "quantity": 1}, {"sku": "F", "quantity": 1}, {"sku": "U", "quantity": 1}]}, "expect": {"lines": [{"unit_price": 905, "price_reason": "member price for group wholesale: 10.00% below list"}, {"unit_price": 909, "price_reason": "member price for group wholesale: 10.00% below list"}, {"unit_price": 900, "price_reason": "member price for group wholesale: 10.00% below list"}]}}
]
]=]
