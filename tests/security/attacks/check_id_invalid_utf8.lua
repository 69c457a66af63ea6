function check(ctx, checks)
return {{check = 'x\xff', status = 'PASS'}}
end
