function apply(ctx, promotions)
return (((
end
