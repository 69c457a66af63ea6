-- dealdesk promotions policy
--
-- apply(ctx, promotions) decides which promotions apply to the order and how
-- much each one takes off. `promotions` holds every stored promotion, sorted
-- by priority (lower first) and then id; each is read-only.
--
-- The rules, in the order they run:
--   1. A promotion is in force when it is enabled, inside its validity window,
--      for the order's currency (percentages: any currency), channel and
--      customer group, and its coupon code (if any) was entered.
--   2. Bundles first, by priority: a bundle applies as many times as complete
--      sets of its items fit in the cart; units used by one bundle are not
--      used again. The saving (items' price minus the bundle price) is shared
--      over the lines whose units were used.
--   3. Then item promotions, by priority, on the units no bundle used:
--      PERCENTAGE takes its rate off what those units still cost (rounded the
--      way the line's price list says); FIXED_AMOUNT takes its amount off each
--      such unit. Each works on what is left after the ones before it, so a
--      line never goes below zero.
--   4. Then spend thresholds, by priority: when what the eligible lines cost
--      after every line discount reaches the threshold, the amount comes off
--      the order; dealdesk spreads it over those lines by largest remainder.
-- Every promotion considered is written to the explain trace with the reason
-- it applied or did not.
--
-- Result: { lines = { [i] = { {promotion=, kind=, amount=, description=} } },
--           order = { {promotion=, kind=, amount=, description=, lines={i...}} } }

local function targets(p, line)
  if p.skus == nil and p.categories == nil then
    return true
  end
  return (p.skus ~= nil and p.skus[line.sku] == true)
      or (p.categories ~= nil and p.categories[line.category] == true)
end

-- nil when the promotion is in force for this order, else the reason
local function not_in_force(p, ctx)
  if not p.enabled then return "disabled" end
  if p.valid_from ~= 0 and ctx.now < p.valid_from then return "not started yet" end
  if p.valid_to ~= 0 and ctx.now >= p.valid_to then return "expired" end
  if p.currency ~= "" and p.currency ~= ctx.currency then
    return "only for " .. p.currency .. " orders"
  end
  if p.channels ~= nil and not p.channels[ctx.channel] then
    return "not offered in channel '" .. ctx.channel .. "'"
  end
  if p.customer_groups ~= nil and not p.customer_groups[ctx.customer.group] then
    return "not for customer group '" .. ctx.customer.group .. "'"
  end
  if p.coupon_code ~= nil and not ctx.coupons[p.coupon_code] then
    return "needs its coupon code"
  end
  return nil
end

local function add(result, i, p, amount, description)
  if amount <= 0 then return end
  local list = result.lines[i]
  if list == nil then
    list = {}
    result.lines[i] = list
  end
  list[#list + 1] = { promotion = p.id, kind = p.kind, amount = amount,
                      description = description }
end

local function money(ctx, amount)
  return dd.format(amount, ctx.exponent)
end

-- 2. bundles ----------------------------------------------------------------
local function apply_bundle(p, ctx, state, result)
  -- units of each SKU still free, line by line in cart order
  local times = nil
  for _, item in ipairs(p.bundle) do
    local free = 0
    for i, line in ipairs(ctx.lines) do
      if line.sku == item.sku then free = free + state[i].free_units end
    end
    local fit = free // item.quantity
    if times == nil or fit < times then times = fit end
  end
  if times == nil or times == 0 then
    return "the cart holds no complete bundle"
  end
  -- take units from the lines in cart order
  local used_value = {}
  local full_price = 0
  for i = 1, #ctx.lines do used_value[i] = 0 end
  for _, item in ipairs(p.bundle) do
    local need = item.quantity * times
    for i, line in ipairs(ctx.lines) do
      if need == 0 then break end
      if line.sku == item.sku and state[i].free_units > 0 then
        local take = math.min(need, state[i].free_units)
        state[i].free_units = state[i].free_units - take
        -- item promotions later see only the units no bundle used
        state[i].free_value = dd.mul(state[i].free_units, line.unit_price)
        need = need - take
        local value = dd.mul(take, line.unit_price)
        used_value[i] = dd.add(used_value[i], value)
        full_price = dd.add(full_price, value)
      end
    end
  end
  local bundle_total = dd.mul(p.bundle_price, times)
  local saving = full_price - bundle_total
  if saving <= 0 then
    return "the bundle price is not below the items' price"
  end
  local shares = dd.allocate(saving, used_value, used_value)
  for i, share in ipairs(shares) do
    if share > 0 then
      add(result, i, p, share, string.format("%s (x%d)", p.name, times))
      state[i].left = state[i].left - share
    end
  end
  return nil, string.format("%d bundle(s): %s for %s, saving %s", times,
                            money(ctx, full_price), money(ctx, bundle_total),
                            money(ctx, saving))
end

-- 3. item promotions --------------------------------------------------------
local function apply_item(p, ctx, state, result)
  local total, hits = 0, 0
  for i, line in ipairs(ctx.lines) do
    local s = state[i]
    if targets(p, line) and s.free_units > 0 and s.free_value > 0 then
      local off
      if p.kind == "PERCENTAGE" then
        off = dd.bps(s.free_value, p.percent_bps, line.rounding)
      else -- FIXED_AMOUNT, per unit
        off = math.min(dd.mul(p.amount, s.free_units), s.free_value)
      end
      off = math.min(off, s.left)
      if off > 0 then
        add(result, i, p, off, p.name)
        s.free_value = s.free_value - off
        s.left = s.left - off
        total = total + off
        hits = hits + 1
      end
    end
  end
  if hits == 0 then
    return "no eligible units in the cart"
  end
  return nil, string.format("%s off %d line(s)", money(ctx, total), hits)
end

-- 4. spend thresholds -------------------------------------------------------
local function apply_threshold(p, ctx, state, result)
  local spend, eligible = 0, {}
  for i, line in ipairs(ctx.lines) do
    if targets(p, line) and state[i].left > 0 then
      spend = dd.add(spend, state[i].left)
      eligible[#eligible + 1] = i
    end
  end
  if spend < p.threshold then
    return string.format("eligible spend %s is below the threshold %s",
                         money(ctx, spend), money(ctx, p.threshold))
  end
  result.order[#result.order + 1] = {
    promotion = p.id, kind = p.kind, amount = p.amount,
    description = p.name, lines = eligible,
  }
  return nil, string.format("eligible spend %s reaches %s: %s off the order",
                            money(ctx, spend), money(ctx, p.threshold),
                            money(ctx, p.amount))
end

local phases = {
  { kind = { BUNDLE = true }, run = apply_bundle },
  { kind = { PERCENTAGE = true, FIXED_AMOUNT = true }, run = apply_item },
  { kind = { SPEND_THRESHOLD = true }, run = apply_threshold },
}

function apply(ctx, promotions)
  local result = { lines = {}, order = {} }
  local state = {}
  for i, line in ipairs(ctx.lines) do
    state[i] = { free_units = line.quantity, free_value = line.subtotal,
                 left = line.subtotal }
  end
  for _, phase in ipairs(phases) do
    for _, p in ipairs(promotions) do
      if phase.kind[p.kind] then
        local why = not_in_force(p, ctx)
        local detail
        if why == nil then
          why, detail = phase.run(p, ctx, state, result)
        end
        dd.trace("promotions", p.id, why == nil, why or detail)
      end
    end
  end
  return result
end
