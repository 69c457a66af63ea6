function apply(ctx, promotions)
for i = 1, 2e6 do dd.trace('flood', 'r', true, '') end
end
