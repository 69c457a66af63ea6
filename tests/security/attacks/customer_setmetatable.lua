function decide(ctx, credit)
setmetatable(ctx.customer, {__index = function() return 0 end})
end
