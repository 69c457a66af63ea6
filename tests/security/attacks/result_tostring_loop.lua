function decide(ctx, credit)
return {outcome = setmetatable({}, {__tostring = function() while true do end end})}
end
