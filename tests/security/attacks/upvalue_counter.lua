local n = 0
function decide(ctx, credit)
n = n + 1
return {outcome = 'APPROVE', reasons = {tostring(n)}}
end
