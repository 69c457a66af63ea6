function price(ctx)
string.upper = function() return 'x' end
end
