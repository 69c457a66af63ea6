local log = {}
function decide(ctx, credit)
table.insert(log, 1)
return {outcome = 'APPROVE'}
end
