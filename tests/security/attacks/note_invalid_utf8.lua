function apply(ctx, promotions)
if promotions[1] then dd.promotion_note(promotions[1], 'C\xff', ('\u{20AC}'):rep(600) .. '\xe2') end
end
