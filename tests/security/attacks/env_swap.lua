function decide(ctx, credit)
local _ENV = {}
return {}
end
