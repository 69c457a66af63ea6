function price(ctx)
return ('a'):rep(60000):find('.-.-.-.-b')
end
