local t = {n = 0}
function decide(ctx, credit)
t.n = t.n + 1
return {outcome = 'APPROVE'}
end
