function decide(ctx, credit)
return setmetatable({}, {__index = function() while true do end end})
end
