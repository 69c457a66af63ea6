function decide(ctx, credit)
local t = {} for i = 1, 1e6 do t[i] = 0x10FFFF end local s = utf8.char(table.unpack(t))
end
