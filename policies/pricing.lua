-- dealdesk pricing policy
--
-- Decides each line's unit price before any promotion. The price list has
-- already been chosen (by currency, channel, region and customer group);
-- this policy may adjust the list price it found.
--
-- price(ctx) returns a table indexed by line position (1, 2, ...). An entry
--   { unit_price = <minor units>, reason = "<why>" }
-- changes that line's unit price; a line without an entry keeps its list
-- price. Amounts are integers in minor units (cents, yen, fils).

-- Member prices: customers in these groups pay the list price less this
-- many basis points (100 bp = 1 %).
local member_discount_bps = {
  wholesale = 1000,   -- 10 % below list
}

function price(ctx)
  local result = {}
  local bps = member_discount_bps[ctx.customer.group]
  if bps == nil then
    dd.trace("pricing", "member-price", false,
             "customer group '" .. ctx.customer.group .. "' has no member price")
    return result
  end
  for i, line in ipairs(ctx.lines) do
    -- the reduction is rounded the way the line's price list says
    local reduction = dd.bps(line.list_price, bps, line.rounding)
    result[i] = {
      unit_price = line.list_price - reduction,
      reason = string.format("member price for group %s: %d.%02d%% below list",
                             ctx.customer.group, bps // 100, bps % 100),
    }
    dd.trace("pricing", "member-price", true,
             string.format("line %d %s: %d - %d", line.no, line.sku,
                           line.list_price, reduction))
  end
  return result
end
