local kept = {}
function price(ctx)
  local k = kept[1]
  if k then local x = k.inventory end
  return nil
end
