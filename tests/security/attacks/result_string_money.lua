function price(ctx)
return {{unit_price = '100'}}
end
