local mt = {}
local obj = setmetatable({}, mt)
function decide(ctx, credit)
getmetatable(obj).__index = function() return 1 end
return {outcome = 'APPROVE'}
end
