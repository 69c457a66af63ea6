function check(ctx, checks)
return setmetatable({}, {__len = function() return math.maxinteger end})
end
