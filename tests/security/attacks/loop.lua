function decide(ctx, credit)
while true do end
end
