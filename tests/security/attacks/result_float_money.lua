function price(ctx)
return {{unit_price = 1.5}}
end
