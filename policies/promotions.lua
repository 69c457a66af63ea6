-- dealdesk promotions policy
--
-- apply(ctx, promotions) decides which promotions apply to the order and in
-- what order. `promotions` holds the candidate promotions (those targeting
-- a SKU or category in the cart, those unlocked by an entered coupon, and
-- those targeting nothing in particular), sorted by priority (lower first)
-- and then id. They are read-only.
--
-- The arithmetic of the built-in kinds is done by dealdesk (README
-- "Promotion mechanics"), on what the cart costs at that point:
--   dd.promotion_in_force(p)      nil, or why not (and a note code): enabled,
--       validity window, currency, channel, region, customer group, segment
--       and loyalty tier, first order or dormant customer, coupon codes,
--       budgets, minimum eligible units and spend
--   dd.promotion_effect(p)        what the promotion would take off now
--       (its experiment arm, its kind's amounts, then its own caps:
--       max_discount and budgets), or nil and why not
--   dd.effect_total(e)            the minor units an effect takes off
--   dd.promotion_commit(p, e, room) applies it, capped to `room`; returns
--       the minor units taken off
--   dd.promotion_note(p, code, message) tells the checkout something
--
-- How promotions stack, decided here:
--   * A promotion is in force when the data says so and its Lua condition
--     (if any) holds.
--   * Exclusive promotions are looked at first, in priority order: the first
--     one in force that gives something is the only promotion applied.
--   * Otherwise every promotion is applied in priority order, each on what
--     the cart costs after the ones before it. Of the promotions sharing a
--     stacking group only the one giving the largest discount applies (ties:
--     priority order). A promotion marked stop_after ends the evaluation when
--     it applies.
--   * All promotions together never take more than MAX_ORDER_DISCOUNT_BPS of
--     the subtotal. No line ever goes below zero.
-- Every promotion considered is in the explain trace with the reason it
-- applied or did not; every coupon code entered gets a result.

-- Promotions together never take more than this share of the order's
-- subtotal, in basis points (10000 = no cap).
local MAX_ORDER_DISCOUNT_BPS = 10000

local in_force, effect, effect_total = dd.promotion_in_force, dd.promotion_effect, dd.effect_total
local commit_effect, note = dd.promotion_commit, dd.promotion_note
local dd_bps, dd_trace = dd.bps, dd.trace

-- Custom kinds: a promotion of kind CUSTOM names one of these functions in
-- its custom_kind. The function gets (ctx, p) and returns the discount per
-- line, {[line number] = minor units}, computed on what each line costs now
-- (ctx.lines[i].total); dealdesk caps it like any other kind.
local custom_kinds = {
  -- "n-th unit half price": every second unit of a targeted line at 50 %
  -- off (the promotion's percent_bps, 5000 = half price).
  every_second_unit = function(ctx, p)
    local out, lines = {}, ctx.lines
    for i = 1, #lines do
      local line = lines[i]
      local targeted = (p.skus == nil and p.categories == nil)
        or (p.skus ~= nil and p.skus[line.sku]) or (p.categories ~= nil and p.categories[line.category])
      if targeted and not line.gift and line.quantity >= 2 then
        out[i] = dd_bps(dd.mul(line.quantity // 2, line.unit_price), p.percent_bps, line.rounding)
      end
    end
    return out
  end,
}

-- nil when p applies now, else the reason; the effect when it does
local function evaluate(ctx, p)
  local why, code = in_force(p)
  if why then
    if code then note(p, code, why) end
    return nil, why
  end
  if p.condition ~= nil and not p.condition(ctx, p) then
    return nil, "its condition does not hold"
  end
  if p.kind == "CUSTOM" then
    local compute = custom_kinds[p.custom_kind]
    if compute == nil then return nil, "unknown custom kind " .. tostring(p.custom_kind) end
    return effect(p, compute(ctx, p))
  end
  return effect(p)
end

-- a promotion that does not apply, and why (kept in why_not when there
-- are coupon results to give)
local function skip(why_not, id, why)
  if why_not then why_not[id] = why end
  dd_trace("promotions", id, false, why)
end

-- applies effect e of p within what the order cap leaves (room); returns
-- the room left
local function commit(applied, p, id, e, room)
  if applied then applied[id] = true end
  return room - commit_effect(p, e, room)
end

function apply(ctx, promotions)
  local order_room = dd_bps(ctx.subtotal, MAX_ORDER_DISCOUNT_BPS, "down")
  -- what applied and why the others did not: what the coupon results at
  -- the end are made of, so kept only when a code was entered
  local codes = ctx.coupon_list
  local ncodes = #codes
  local applied, why_not = nil, nil
  if ncodes > 0 then applied, why_not = {}, {} end
  local npromos = #promotions

  -- 1. exclusive promotions: the first that gives something is the only one
  -- (looked: those looked at here)
  local exclusive, looked = nil, nil
  for k = 1, npromos do
    if exclusive ~= nil then break end
    local p = promotions[k]
    if p.exclusive then
      local id = p.id
      looked = looked or {}
      looked[id] = true
      local e, why = evaluate(ctx, p)
      if e ~= nil then
        order_room = commit(applied, p, id, e, order_room)
        exclusive = id
      else
        skip(why_not, id, why)
      end
    end
  end

  -- 2. everything else in priority order
  local groups_done, stopped = nil, nil
  for k = 1, npromos do
    local p = promotions[k]
    local id = p.id
    local group = p.stacking_group
    if looked ~= nil and looked[id] then
      -- already handled above
    elseif exclusive ~= nil then
      skip(why_not, id, "exclusive promotion " .. exclusive .. " applies")
    elseif stopped ~= nil then
      skip(why_not, id, "evaluation stopped after " .. stopped)
    elseif group ~= nil then
      local g = group
      groups_done = groups_done or {}
      if not groups_done[g] then
        groups_done[g] = true
        -- the member giving the most wins; ties go to the earlier one
        local best, best_e, best_total, losers = nil, nil, -1, {}
        for j = k, npromos do
          local m = promotions[j]
          if m.stacking_group == g and not m.exclusive then
            local e, why = evaluate(ctx, m)
            if e == nil then
              skip(why_not, m.id, why)
            elseif effect_total(e) > best_total then
              if best ~= nil then losers[#losers + 1] = best end
              best, best_e, best_total = m, e, effect_total(e)
            else
              losers[#losers + 1] = m
            end
          end
        end
        if best ~= nil then
          order_room = commit(applied, best, best.id, best_e, order_room)
          for _, m in ipairs(losers) do
            skip(why_not, m.id, "group " .. g .. ": " .. best.id .. " gives more")
          end
          if best.stop_after then stopped = best.id end
        end
      end
    else
      local e, why = evaluate(ctx, p)
      if e ~= nil then
        order_room = commit(applied, p, id, e, order_room)
        if p.stop_after then stopped = id end
      else
        skip(why_not, id, why)
      end
    end
  end

  -- 3. what became of each coupon code entered (none entered: nothing to say)
  if ncodes == 0 then return nil end
  local coupons = {}
  for c = 1, ncodes do
    local code = codes[c]
    local info = ctx.coupon_info[code]
    local r = { code = code, accepted = false }
    if info ~= nil then
      r.promotion = info.promotion
      if not info.valid then
        r.reason = info.reason
      elseif applied[info.promotion] then
        r.accepted = true
      elseif why_not[info.promotion] then
        r.reason = "NOT_APPLIED: " .. why_not[info.promotion]
      else
        r.reason = "PROMOTION_UNAVAILABLE: its promotion is not available"
      end
    else
      for k = 1, npromos do
        local p = promotions[k]
        if p.coupon_code == code then
          r.promotion = p.id
          if applied[p.id] then
            r.accepted = true
          else
            r.reason = "NOT_APPLIED: " .. (why_not[p.id] or "not applied")
          end
          break
        end
      end
      if r.promotion == nil then r.reason = "UNKNOWN: no such code" end
    end
    coupons[#coupons + 1] = r
  end
  if #coupons > 0 then return { coupons = coupons } end
  return nil
end

-- The policy's own test cases (README "Policy tests"): `dealdesk policy
-- test policies/promotions.lua` runs them; SubmitPolicy runs them before review.
--[=[dealdesk:tests
[
{"name": "percentage by category, in the line's rounding", "why": "12.5 % of 10.00 = 1.25; of 5.00 = 0.625 -> 0.63 (half up); C is category y", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "promotions": [{"id": "P125", "name": "P125", "kind": "PERCENTAGE", "enabled": true, "categories": ["x"], "percent_bps": 1250}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}, {"sku": "C", "quantity": 1}]}, "expect": {"lines": [{"discounts": {"P125": 125}}, {"discounts": {"P125": 63}}, {"discounts": {"P125": 0}}], "discounts": {"P125": 188}, "total": 1612}},
{"name": "fixed amount never takes a line below zero", "why": "5.00 off a 3.00 unit: only 2 x 3.00 can come off", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "promotions": [{"id": "F5", "name": "F5", "kind": "FIXED_AMOUNT", "enabled": true, "skus": ["C"], "amount": 500, "currency": "USD"}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "C", "quantity": 2}, {"sku": "A", "quantity": 1}]}, "expect": {"lines": [{"discount_total": 600, "line_total": 0}, {"discount_total": 0}], "total": 1000}},
{"name": "fixed price", "why": "3 x 5.00 at 3 x 3.50", "data": {"prices": [{"price_list_id": "usd", "sku": "A", "currency": "USD", "unit_price": 1000, "unit_cost": 400, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "B", "currency": "USD", "unit_price": 500, "unit_cost": 200, "category": "x", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "C", "currency": "USD", "unit_price": 300, "unit_cost": 100, "category": "y", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "D", "currency": "USD", "unit_price": 2000, "unit_cost": 800, "category": "z", "rounding": "HALF_UP"}, {"price_list_id": "usd", "sku": "G", "currency": "USD", "unit_price": 700, "unit_cost": 300, "category": "gift", "rounding": "HALF_UP"}], "customers": [{"id": "c1", "customer_group": "retail", "credit": {"currency": "USD", "credit_limit": 100000000, "tier": "A", "standard_terms_days": 30}}], "promotions": [{"id": "FP", "name": "FP", "kind": "FIXED_PRICE", "enabled": true, "skus": ["B"], "amount": 350, "currency": "USD"}]}, "request": {"customer_id": "c1", "currency": "USD", "channel": "web", "lines": [{"sku": "B", "quantity": 3}]}, "expect": {"discounts": {"FP": 450}, "total": 1050}}
]
]=]
