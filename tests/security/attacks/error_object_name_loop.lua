function price(ctx)
error(setmetatable({}, {__name = 'x', __index = function() while true do end end}))
end
