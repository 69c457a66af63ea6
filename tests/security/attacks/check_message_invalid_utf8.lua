function check(ctx, checks)
return {{check = 'min-margin-5', status = 'WARN', message = 'm \xc3( ' .. ('\u{20AC}'):rep(400)}}
end
