function decide(ctx, credit)
for x in ('a'):rep(60000):gmatch('(.-)(.-)(.-)b') do end
end
