function decide(ctx, credit)
setmetatable({}, {__gc = function() while true do end end})
end
