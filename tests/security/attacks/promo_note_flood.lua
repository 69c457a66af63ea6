function apply(ctx, promotions)
while true do dd.promotion_note(promotions[1], 'C', ('x'):rep(500)) end
end
