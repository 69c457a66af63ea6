function decide(ctx, credit)
while true do local s = (''):rep(2^60) end
end
