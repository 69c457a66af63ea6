local big = {}
for i = 1, 1e6 do big[i] = ('x'):rep(100) .. i end
function decide(ctx, credit)
return {outcome='APPROVE'}
end
