function decide(ctx, credit)
return {outcome = 'APPROVE', terms_days = math.maxinteger}
end
