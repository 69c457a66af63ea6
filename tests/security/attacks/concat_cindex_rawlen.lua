function check(ctx, checks)
local s = table.concat(setmetatable({}, {__index = rawlen}), '', 1, 2^53)
end
