-- dealdesk compliance policy
--
-- check(ctx, checks) runs the compliance checks that compliance officers keep
-- in dealdesk (read-only here) against the priced order. Each line of
-- ctx.lines has: sku, quantity, list_price, unit_price, unit_cost,
-- list_subtotal (list price x quantity), subtotal, discount, total (what the
-- customer pays for the line). ctx.subtotal, ctx.discount_total, ctx.total
-- are the order's.
--
-- It returns an array of results:
--   { check = <id>, status = "PASS" | "WARN" | "BLOCK", message = "...",
--     line = <line number, -1 for the whole order>, value = <computed bps>,
--     limit = <the check's bps> }
-- If this policy fails, dealdesk reports BLOCK (fail-safe).
--
-- Checks:
--   MIN_MARGIN    every line's total >= its cost x (1 + bps/10000), i.e. the
--                 margin over cost is at least bps; a line of unknown cost
--                 (0) gives WARN, never PASS.
--   MAX_DISCOUNT  every line's reduction from its list amount (price
--                 adjustments and promotions together) is at most bps of the
--                 list amount, and so is the whole order's.

-- library functions as locals (globals go through read-only proxies)
local fmt = string.format
local dd_add, dd_mul, dd_muldiv, dd_format, dd_trace = dd.add, dd.mul, dd.muldiv, dd.format, dd.trace

local function money(ctx, v)
  return dd_format(v, ctx.exponent)
end

local function pct(bps)
  return fmt("%d.%02d%%", bps // 100, bps % 100)
end

-- gift lines (free by design) are not checked
local function applies(c, line)
  return not line.gift and (c.skus == nil or c.skus[line.sku] == true)
end

local function min_margin(c, ctx, out)
  local failed = false
  local lines = ctx.lines
  for i = 1, #lines do
    local line = lines[i]
    if applies(c, line) then
      if line.unit_cost == 0 then
        out[#out + 1] = { check = c.id, status = "WARN", line = line.no, limit = c.bps,
          message = fmt("line %d %s: unit cost unknown, margin not checked",
                                  line.no, line.sku) }
        failed = true
      else
        local cost = dd_mul(line.unit_cost, line.quantity)
        local floor = dd_muldiv(cost, 10000 + c.bps, 10000, "up")
        if line.total < floor then
          -- margin over cost in bps, rounded down (never flattering)
          local margin = dd_muldiv(line.total - cost, 10000, cost, "down")
          out[#out + 1] = { check = c.id, status = c.on_fail, line = line.no,
            value = margin, limit = c.bps,
            message = fmt(
              "line %d %s: total %s is below cost %s plus %s (%s); margin %s",
              line.no, line.sku, money(ctx, line.total), money(ctx, cost),
              pct(c.bps), money(ctx, floor), pct(margin)) }
          failed = true
        end
      end
    end
  end
  return failed
end

-- below this, amount x 10000 cannot overflow int64: plain arithmetic is exact
local SMALL = 900000000000000

local function discount_bps(list_amount, paid)
  if list_amount <= 0 or paid >= list_amount then return 0 end
  if list_amount < SMALL then
    -- ceil((list - paid) * 10000 / list) without leaving the integers
    return ((list_amount - paid) * 10000 + list_amount - 1) // list_amount
  end
  -- rounded up: 30.001 % counts as more than 30 %
  return dd_muldiv(list_amount - paid, 10000, list_amount, "up")
end

local function max_discount(c, ctx, out)
  local failed = false
  local list_total, paid_total = 0, 0
  local lines = ctx.lines
  for i = 1, #lines do
    local line = lines[i]
    if applies(c, line) then
      if list_total < SMALL and line.list_subtotal < SMALL and
         paid_total < SMALL and line.total < SMALL then
        list_total = list_total + line.list_subtotal   -- all small: no overflow
        paid_total = paid_total + line.total
      else
        list_total = dd_add(list_total, line.list_subtotal)
        paid_total = dd_add(paid_total, line.total)
      end
      local d = discount_bps(line.list_subtotal, line.total)
      if d > c.bps then
        out[#out + 1] = { check = c.id, status = c.on_fail, line = line.no,
          value = d, limit = c.bps,
          message = fmt("line %d %s: discount %s from list %s exceeds %s",
                                  line.no, line.sku, pct(d),
                                  money(ctx, line.list_subtotal), pct(c.bps)) }
        failed = true
      end
    end
  end
  local d = discount_bps(list_total, paid_total)
  if d > c.bps then
    out[#out + 1] = { check = c.id, status = c.on_fail, line = -1, value = d, limit = c.bps,
      message = fmt("order discount %s exceeds %s", pct(d), pct(c.bps)) }
    failed = true
  end
  return failed, d
end

local runners = { MIN_MARGIN = min_margin, MAX_DISCOUNT = max_discount }

function check(ctx, checks)
  local out = {}
  for k = 1, #checks do
    local c = checks[k]
    local run = runners[c.kind]
    if not c.enabled then
      dd_trace("compliance", c.id, false, "disabled")
    elseif run == nil then
      dd_trace("compliance", c.id, false, "unknown check kind " .. c.kind)
    else
      local failed = run(c, ctx, out)
      if not failed then
        out[#out + 1] = { check = c.id, status = "PASS", line = -1, limit = c.bps,
                          message = c.description }
      end
      dd_trace("compliance", c.id, true, failed and "found problems" or "passed")
    end
  end
  return out
end
