function decide(ctx, credit)
return 'APPROVE'
end
