local t = {{}}
function decide(ctx, credit)
t[1].x = (t[1].x or 0) + 1
return {outcome = 'APPROVE'}
end
