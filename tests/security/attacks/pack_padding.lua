function check(ctx, checks)
local s = string.pack('c2000000000', '')
end
