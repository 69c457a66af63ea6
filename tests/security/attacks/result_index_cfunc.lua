function price(ctx)
return setmetatable({}, {__index = string.rep})
end
