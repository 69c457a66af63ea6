function price(ctx)
return {{reason = '\xff\xfe' .. ('\u{E9}'):rep(600)}}
end
