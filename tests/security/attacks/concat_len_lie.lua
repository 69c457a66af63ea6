function price(ctx)
table.concat(setmetatable({}, {__len = function() return 2^62 end, __index = function() return 'x' end}))
end
