function apply(ctx, promotions)
local mt = getmetatable('') mt.__index.extra = 1
end
