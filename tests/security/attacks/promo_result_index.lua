function apply(ctx, promotions)
return setmetatable({}, {__index = function() return {} end})
end
