function price(ctx)
table.insert(setmetatable({}, {__len = function() return 2^62 end}), 'x')
end
