function apply(ctx, promotions)
while true do if promotions[1] then dd.promotion_in_force(promotions[1]) end end
end
