function decide(ctx, credit)
error(setmetatable({}, {__tostring = function() while true do end end}))
end
