function decide(ctx, credit)
setmetatable(credit, {__index = function() while true do end end})
end
