function decide(ctx, credit)
local a = ('x'):rep(250000) local b = a:sub(1, -2) .. 'y' while true do local _ = a < b end
end
