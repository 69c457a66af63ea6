function price(ctx)
setmetatable(ctx, {__newindex = function() while true do end end})
end
