function price(ctx)
dd.trace('pricing\xff', 'rule\xc3', true, '\xe2\x82')
end
