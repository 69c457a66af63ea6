function decide(ctx, credit)
local function f() return f() + 1 end return f()
end
