function decide(ctx, credit)
setmetatable(ctx, {__newindex = function() error('x') end})
return {outcome = 'APPROVE'}
end
