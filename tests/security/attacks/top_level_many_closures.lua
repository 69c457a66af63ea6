local t = {}
for i = 1, 20000 do t[i] = function(x)
  local a, b, c = x + 1, x * 2, x - 3 local d, e = a / b, c % 5
  local s = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
  local s2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
  return a, b, c, d, e, s, s2
end end
function decide(ctx, credit)
return {outcome = 'APPROVE', reasons = {tostring(#t)}}
end
