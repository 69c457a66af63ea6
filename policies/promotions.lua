-- dealdesk promotions policy
--
-- apply(ctx, promotions) decides which promotions apply to the order and how
-- much each one takes off. `promotions` holds the candidate promotions (those
-- targeting a SKU or category in the cart, those unlocked by an entered
-- coupon, and those targeting nothing in particular), sorted by priority
-- (lower first) and then id. They are read-only.
--
-- How promotions stack (README "Promotions and stacking"):
--   * A promotion is in force when it is enabled, inside its validity window,
--     for the order's currency (kinds with amounts), channel, region, customer
--     group, segment and loyalty tier, for new or dormant customers when it
--     says so, with its coupon entered, within its budgets, when the cart
--     meets its minimum quantity and amount, and when its Lua condition (if
--     any) holds.
--   * Exclusive promotions are looked at first, in priority order: the first
--     one in force that gives something is the only promotion applied.
--   * Otherwise every promotion is applied in priority order, each on what
--     the cart costs after the ones before it. Of the promotions sharing a
--     stacking group only the one giving the largest discount applies (ties:
--     priority order). A promotion marked stop_after ends the evaluation when
--     it applies.
--   * A promotion's discount is capped by its max_discount and by what is
--     left of its amount budget; all promotions together by the order cap
--     below. No line ever goes below zero.
--   * Units a bundle or a buy-X-get-Y used are not used again by another of
--     those; percentage, fixed amount and fixed price promotions work on the
--     units no bundle used.
-- Every promotion considered is in the explain trace with the reason it
-- applied or did not.

-- Promotions together never take more than this share of the order's
-- subtotal, in basis points (10000 = no cap).
local MAX_ORDER_DISCOUNT_BPS = 10000

local DAY = 86400

-- Library functions as locals: every global lookup in the sandbox goes
-- through read-only proxies, locals do not.
local ipairs, pairs = ipairs, pairs
local fmt, min, max, sort, setmetatable = string.format, math.min, math.max, table.sort, setmetatable
local dd_add, dd_mul, dd_bps, dd_allocate, dd_format = dd.add, dd.mul, dd.bps, dd.allocate, dd.format
local dd_trace, dd_bucket = dd.trace, dd.bucket

-- Reasons and details are only spelt out when someone reads them (an
-- explain trace, or coupon codes whose refusal needs a reason): formatting
-- strings is most of the cost of a quote otherwise. Set per call.
local verbose = false

local function money(ctx, amount)
  return dd_format(amount, ctx.exponent)
end

-- the reason, formatted when verbose, else its (constant) template
local function why(template, ...)
  if verbose then return fmt(template, ...) end
  return template
end

-- Is the line one the promotion targets? (No targets = every line.)
local function targets(p, line)
  if line.gift then return false end
  if p.skus == nil and p.categories == nil then return true end
  return (p.skus ~= nil and p.skus[line.sku] == true)
      or (p.categories ~= nil and p.categories[line.category] == true)
end

local AMOUNT_KINDS = { FIXED_AMOUNT = true, FIXED_PRICE = true, BUNDLE = true,
                       SPEND_THRESHOLD = true }

local function has_valid_coupon(p, ctx)
  for _, code in ipairs(ctx.coupon_list) do
    local info = ctx.coupon_info[code]
    if info ~= nil and info.valid and info.promotion == p.id then return true end
  end
  return false
end

-- nil when the promotion may apply to this order, else the reason (and a
-- note code for the checkout when there is one)
local function not_in_force(p, ctx, state)
  if not p.enabled then return "disabled" end
  if p.valid_from ~= 0 and ctx.now < p.valid_from then return "not started yet" end
  if p.valid_to ~= 0 and ctx.now >= p.valid_to then return "expired" end
  if p.currency ~= "" and p.currency ~= ctx.currency then
    return why("only for %s orders", p.currency)
  end
  if p.currency == "" and AMOUNT_KINDS[p.kind] then
    return "has amounts but no currency"
  end
  if p.channels ~= nil and not p.channels[ctx.channel] then
    return why("not offered in channel '%s'", ctx.channel)
  end
  if p.regions ~= nil and not p.regions[ctx.region] then
    return why("not offered in region '%s'", ctx.region)
  end
  local c = ctx.customer
  if p.customer_groups ~= nil and not p.customer_groups[c.group] then
    return why("not for customer group '%s'", c.group)
  end
  if p.customer_segments ~= nil and not p.customer_segments[c.segment] then
    return why("not for customer segment '%s'", c.segment)
  end
  if p.customer_tiers ~= nil and not p.customer_tiers[c.loyalty_tier] then
    return why("not for loyalty tier '%s'", c.loyalty_tier)
  end
  if p.new_customers_only and c.order_count > 0 then
    return "only for a customer's first order"
  end
  if p.dormant_days > 0 then
    if c.order_count == 0 then return "only for returning customers" end
    local idle = (ctx.now - c.last_order_at) // DAY
    if idle < p.dormant_days then
      return why("customer ordered %d days ago; needs %d", idle, p.dormant_days)
    end
  end
  if p.coupon_code ~= nil and not ctx.coupons[p.coupon_code] then
    return "needs its coupon code"
  end
  if p.requires_coupon and not has_valid_coupon(p, ctx) then
    return "needs one of its coupon codes"
  end
  local u = ctx.usage[p.id]
  if u ~= nil then
    if p.budget_uses > 0 and u.uses >= p.budget_uses then
      return fmt("budget of %d uses is exhausted", p.budget_uses), "BUDGET_EXHAUSTED"
    end
    if p.budget_amount > 0 and u.amount >= p.budget_amount then
      return "budget of " .. money(ctx, p.budget_amount) .. " is exhausted", "BUDGET_EXHAUSTED"
    end
    if p.customer_budget_uses > 0 and u.customer_uses >= p.customer_budget_uses then
      return "this customer's " .. p.customer_budget_uses .. " uses are exhausted",
             "CUSTOMER_BUDGET_EXHAUSTED"
    end
    if p.customer_budget_amount > 0 and u.customer_amount >= p.customer_budget_amount then
      return "this customer's budget is exhausted", "CUSTOMER_BUDGET_EXHAUSTED"
    end
  end
  if p.min_quantity > 0 or p.min_amount > 0 then
    local units, spend = 0, 0
    local lines = ctx.lines
    for i = 1, #lines do
      local line = lines[i]
      if targets(p, line) then
        units = units + line.quantity
        spend = dd_add(spend, state[i].left)
      end
    end
    if units < p.min_quantity then
      return why("needs %d eligible units, cart has %d", p.min_quantity, units)
    end
    if spend < p.min_amount then
      if not verbose then return "needs more eligible spend" end
      return fmt("needs eligible spend of %s, cart has %s",
                           money(ctx, p.min_amount), money(ctx, spend))
    end
  end
  if p.condition ~= nil and not p.condition(ctx, p) then
    return "its condition does not hold"
  end
  return nil
end

-- Each kind computes an effect on the current state without changing it:
-- { lines = {[i] = amount}, order = amount, shares = {[i] = n},
--   used = {[i] = units}, gift = {...}, multiplier = n, total = n, detail = s }
-- or nil and the reason.
local kinds = {}

local NONE = {} -- an empty "used" for effects that use up no units

local function line_effect()
  return { lines = {}, used = NONE, total = 0 }
end

local function add_line(e, i, amount)
  if amount > 0 then
    e.lines[i] = (e.lines[i] or 0) + amount
    e.total = e.total + amount
  end
end

local function item_effect(ctx, state, p, per_line)
  local e = line_effect()
  local hits = 0
  local lines = ctx.lines
  for i = 1, #lines do
    local line, s = lines[i], state[i]
    if targets(p, line) and s.free_units > 0 and s.free_value > 0 then
      local off = min(per_line(line, s), s.free_value, s.left)
      if off > 0 then
        add_line(e, i, off)
        hits = hits + 1
      end
    end
  end
  if hits == 0 then return nil, "no eligible units in the cart" end
  if verbose then e.detail = fmt("%s off %d line(s)", money(ctx, e.total), hits) end
  return e
end

kinds.PERCENTAGE = function(ctx, state, p)
  return item_effect(ctx, state, p, function(line, s)
    return dd_bps(s.free_value, p.percent_bps, line.rounding)
  end)
end

kinds.FIXED_AMOUNT = function(ctx, state, p)
  return item_effect(ctx, state, p, function(line, s)
    return dd_mul(p.amount, s.free_units)
  end)
end

kinds.FIXED_PRICE = function(ctx, state, p)
  return item_effect(ctx, state, p, function(line, s)
    return s.free_value - dd_mul(p.amount, s.free_units)
  end)
end

kinds.BUNDLE = function(ctx, state, p)
  local times = nil
  local lines, nlines = ctx.lines, #ctx.lines
  for _, item in ipairs(p.bundle) do
    local free = 0
    for i = 1, nlines do
      local line = lines[i]
      if line.sku == item.sku and not line.gift then free = free + state[i].free_units end
    end
    local fit = free // item.quantity
    if times == nil or fit < times then times = fit end
  end
  if times == nil or times == 0 then return nil, "the cart holds no complete bundle" end
  -- take units from the lines in cart order
  local e = line_effect()
  local value, full = {}, 0
  for i = 1, #ctx.lines do value[i] = 0 end
  local taken = {}
  for _, item in ipairs(p.bundle) do
    local need = item.quantity * times
    for i = 1, nlines do
      local line = lines[i]
      if need == 0 then break end
      local free = state[i].free_units - (taken[i] or 0)
      if line.sku == item.sku and not line.gift and free > 0 then
        local take = min(need, free)
        taken[i] = (taken[i] or 0) + take
        need = need - take
        local v = dd_mul(take, line.unit_price)
        value[i] = dd_add(value[i], v)
        full = dd_add(full, v)
      end
    end
  end
  local price = dd_mul(p.bundle_price, times)
  local saving = full - price
  if saving <= 0 then return nil, "the bundle price is not below the items' price" end
  -- the saving is shared over the lines in proportion to the value each
  -- gave to the bundles, never more than a line still costs
  local caps, room = {}, 0
  for i = 1, #ctx.lines do
    caps[i] = min(value[i], state[i].left)
    room = room + caps[i]
  end
  local shares = dd_allocate(min(saving, room), value, caps)
  for i, share in ipairs(shares) do add_line(e, i, share) end
  e.used = taken
  e.times = times
  if verbose then
    e.detail = fmt("%d bundle(s): %s for %s, saving %s", times, money(ctx, full),
                             money(ctx, price), money(ctx, e.total))
  end
  return e
end

kinds.BUY_X_GET_Y = function(ctx, state, p)
  local pool, units = {}, 0
  for i, line in ipairs(ctx.lines) do
    if targets(p, line) and state[i].free_units > 0 then
      pool[#pool + 1] = i
      units = units + state[i].free_units
    end
  end
  local groups = units // (p.buy_quantity + p.get_quantity)
  if groups == 0 then
    return nil, why("needs %d eligible units, cart has %d", p.buy_quantity + p.get_quantity, units)
  end
  -- the cheapest units get the discount (ties: the earlier line)
  sort(pool, function(a, b)
    local pa, pb = ctx.lines[a].unit_price, ctx.lines[b].unit_price
    if pa ~= pb then return pa < pb end
    return a < b
  end)
  local e = line_effect()
  e.used = {}
  local left = groups * p.get_quantity
  for _, i in ipairs(pool) do
    if left == 0 then break end
    local line, s = ctx.lines[i], state[i]
    local k = min(left, s.free_units)
    local off = min(dd_bps(dd_mul(k, line.unit_price), p.percent_bps, line.rounding),
                         s.free_value, s.left)
    add_line(e, i, off)
    e.used[i] = k
    left = left - k
  end
  if e.total == 0 then return nil, "nothing left to discount" end
  if verbose then
    e.detail = fmt("%d unit(s) at %d.%02d%% off, saving %s",
                             groups * p.get_quantity, p.percent_bps // 100,
                             p.percent_bps % 100, money(ctx, e.total))
  end
  return e
end

kinds.SPEND_THRESHOLD = function(ctx, state, p)
  local spend, weights = 0, {}
  local lines = ctx.lines
  for i = 1, #lines do
    local line = lines[i]
    weights[i] = 0
    if targets(p, line) and state[i].left > 0 then
      weights[i] = state[i].left
      spend = dd_add(spend, state[i].left)
    end
  end
  local amount, why = 0, nil
  if #p.tiers > 0 then
    for _, t in ipairs(p.tiers) do
      if spend >= t.threshold then amount = t.amount end
    end
    if amount == 0 then
      why = verbose and fmt("eligible spend %s is below the first tier %s",
                                      money(ctx, spend), money(ctx, p.tiers[1].threshold))
            or "eligible spend is below the first tier"
    end
  elseif p.repeating then
    amount = dd_mul(spend // p.threshold, p.amount)
    if amount == 0 then
      why = verbose and fmt("eligible spend %s is below %s", money(ctx, spend),
                                      money(ctx, p.threshold))
            or "eligible spend is below the threshold"
    end
  elseif spend >= p.threshold then
    amount = p.amount
  else
    why = verbose and fmt("eligible spend %s is below the threshold %s",
                                    money(ctx, spend), money(ctx, p.threshold))
          or "eligible spend is below the threshold"
  end
  if why then return nil, why end
  amount = min(amount, spend)
  local e = { lines = NONE, used = NONE, total = amount, order = amount }
  e.shares = dd_allocate(amount, weights, weights)
  if verbose then
    e.detail = fmt("eligible spend %s: %s off the order", money(ctx, spend),
                             money(ctx, amount))
  end
  return e
end

-- Gifts and points targeted at SKUs or categories need one in the cart.
local function cart_has_target(p, ctx)
  if p.skus == nil and p.categories == nil then return true end
  for _, line in ipairs(ctx.lines) do
    if targets(p, line) then return true end
  end
  return false
end

kinds.FREE_GIFT = function(ctx, state, p)
  if not cart_has_target(p, ctx) then return nil, "no qualifying item in the cart" end
  return { lines = NONE, used = NONE, total = 0,
           gift = { sku = p.gift_sku, quantity = p.gift_quantity },
           detail = why("gift: %d x %s", p.gift_quantity, p.gift_sku) }
end

kinds.LOYALTY_POINTS = function(ctx, state, p)
  if not cart_has_target(p, ctx) then return nil, "no qualifying item in the cart" end
  return { lines = NONE, used = NONE, total = 0, multiplier = p.points_multiplier,
           detail = why("points x%d", p.points_multiplier) }
end

-- Scales an effect's amounts down to `cap` (largest remainder).
local function cap_effect(e, cap)
  if e.total <= cap then return false end
  if e.order ~= nil then
    local w = e.shares
    e.shares = dd_allocate(cap, w, w)
    e.order = cap
  else
    local idx, amounts = {}, {}
    for i, a in pairs(e.lines) do idx[#idx + 1] = i end
    sort(idx)
    for k, i in ipairs(idx) do amounts[k] = e.lines[i] end
    local scaled = dd_allocate(cap, amounts, amounts)
    for k, i in ipairs(idx) do e.lines[i] = scaled[k] end
  end
  e.total = cap
  return true
end

function apply(ctx, promotions)
  verbose = ctx.explain or #ctx.coupon_list > 0
  local result = { lines = {}, order = {}, gifts = {}, notes = {}, coupons = {},
                   experiments = {}, points_multiplier = 1 }
  local state = {}
  local lines = ctx.lines
  for i = 1, #lines do
    local line = lines[i]
    state[i] = { free_units = line.quantity, free_value = line.subtotal, left = line.subtotal }
  end
  local order_room = dd_bps(ctx.subtotal, MAX_ORDER_DISCOUNT_BPS, "down")
  local applied, why_not, arms = {}, {}, {}

  local function note(p, code, message)
    result.notes[#result.notes + 1] = { promotion = p.id, code = code, message = message }
  end

  local function skip(p, why)
    why_not[p.id] = why
    dd_trace("promotions", p.id, false, why)
  end

  -- the promotion as this customer's experiment arm sees it
  local function view(p)
    if p.experiment_id == nil or #p.arms == 0 then return p end
    local arm = arms[p.id]
    if arm == nil then
      local total = 0
      for _, a in ipairs(p.arms) do total = total + a.weight end
      local b = dd_bucket(ctx.customer.id .. "\0" .. p.experiment_id, total)
      for _, a in ipairs(p.arms) do
        if b < a.weight then arm = a break end
        b = b - a.weight
      end
      arms[p.id] = arm
      result.experiments[#result.experiments + 1] =
        { experiment = p.experiment_id, promotion = p.id, arm = arm.name }
    end
    if arm.control then return nil, why("experiment %s: control arm %s", p.experiment_id, arm.name) end
    return setmetatable({ percent_bps = arm.percent_bps ~= 0 and arm.percent_bps or p.percent_bps,
                          amount = arm.amount ~= 0 and arm.amount or p.amount },
                        { __index = p })
  end

  local function evaluate(p)
    local why, code = not_in_force(p, ctx, state)
    if why then
      if code then note(p, code, why) end
      return nil, why
    end
    local v, vwhy = view(p)
    if v == nil then return nil, vwhy end
    local run = kinds[p.kind]
    if run == nil then return nil, "unknown kind " .. p.kind end
    local e, ewhy = run(ctx, state, v)
    if e == nil then return nil, ewhy end
    if p.max_discount > 0 and cap_effect(e, p.max_discount) then
      e.detail = (e.detail or "") .. "; capped at " .. money(ctx, p.max_discount)
      note(p, "CAPPED", "capped at " .. money(ctx, p.max_discount))
    end
    local u = ctx.usage[p.id]
    if u ~= nil and p.budget_amount > 0 and cap_effect(e, p.budget_amount - u.amount) then
      e.detail = (e.detail or "") .. "; limited to what is left of its budget"
      note(p, "BUDGET_LIMITED", "limited to the " ..
           money(ctx, p.budget_amount - u.amount) .. " left of its budget")
    end
    if u ~= nil and p.customer_budget_amount > 0
       and cap_effect(e, p.customer_budget_amount - u.customer_amount) then
      e.detail = (e.detail or "") .. "; limited to what is left of this customer's budget"
    end
    return e
  end

  local function commit(p, e)
    if e.total > order_room then
      cap_effect(e, order_room)
      e.detail = (e.detail or "") .. "; limited by the order cap"
      note(p, "ORDER_CAP", "limited by the cap on discounts per order")
    end
    order_room = order_room - e.total
    if e.order ~= nil then
      if e.order > 0 then
        result.order[#result.order + 1] = { promotion = p.id, kind = p.kind, amount = e.order,
                                            description = p.name, shares = e.shares }
        for i, share in ipairs(e.shares) do state[i].left = state[i].left - share end
      end
    else
      for i = 1, #ctx.lines do
        local amount = e.lines[i]
        local s = state[i]
        if amount ~= nil and amount > 0 then
          local list = result.lines[i]
          if list == nil then list = {} result.lines[i] = list end
          local description = p.name
          if e.times and e.times > 1 then description = fmt("%s (x%d)", p.name, e.times) end
          list[#list + 1] = { promotion = p.id, kind = p.kind, amount = amount,
                              description = description }
          s.left = s.left - amount
          s.free_value = max(0, s.free_value - amount)
        end
        local used = e.used[i]
        if used ~= nil and used > 0 then
          s.free_units = s.free_units - used
          if p.kind == "BUNDLE" then
            -- item promotions later see only the units no bundle used
            s.free_value = min(s.free_value, dd_mul(s.free_units, ctx.lines[i].unit_price))
          end
        end
      end
    end
    if e.gift ~= nil then
      result.gifts[#result.gifts + 1] = { promotion = p.id, sku = e.gift.sku,
                                          quantity = e.gift.quantity, description = p.name }
    end
    if e.multiplier ~= nil and e.multiplier > result.points_multiplier then
      result.points_multiplier = e.multiplier
    end
    applied[p.id] = true
    dd_trace("promotions", p.id, true, e.detail or "")
  end

  -- 1. exclusive promotions: the first that gives something is the only one
  local exclusive = nil
  local npromos = #promotions
  for k = 1, npromos do
    local p = promotions[k]
    if p.exclusive and exclusive == nil then
      local e, why = evaluate(p)
      if e ~= nil then
        commit(p, e)
        exclusive = p.id
      else
        skip(p, why)
      end
    end
  end

  -- 2. everything else in priority order
  local groups_done, stopped = {}, nil
  for k = 1, npromos do
    local p = promotions[k]
    if applied[p.id] or (p.exclusive and why_not[p.id]) then
      -- already handled above
    elseif exclusive ~= nil then
      skip(p, why("exclusive promotion %s applies", exclusive))
    elseif stopped ~= nil then
      skip(p, why("evaluation stopped after %s", stopped))
    elseif p.stacking_group ~= nil then
      local g = p.stacking_group
      if not groups_done[g] then
        groups_done[g] = true
        local best, best_e, losers = nil, nil, {}
        for _, m in ipairs(promotions) do
          if m.stacking_group == g and not m.exclusive then
            local e, why = evaluate(m)
            if e == nil then
              skip(m, why)
            elseif best == nil or e.total > best_e.total then
              if best ~= nil then losers[#losers + 1] = best end
              best, best_e = m, e
            else
              losers[#losers + 1] = m
            end
          end
        end
        if best ~= nil then
          commit(best, best_e)
          for _, m in ipairs(losers) do
            skip(m, why("group %s: %s gives more", g, best.id))
          end
          if best.stop_after then stopped = best.id end
        end
      end
    else
      local e, why = evaluate(p)
      if e ~= nil then
        commit(p, e)
        if p.stop_after then stopped = p.id end
      else
        skip(p, why)
      end
    end
  end

  -- 3. what became of each coupon code entered
  for _, code in ipairs(ctx.coupon_list) do
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
      for _, p in ipairs(promotions) do
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
    result.coupons[#result.coupons + 1] = r
  end
  return result
end
