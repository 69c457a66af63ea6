function decide(ctx, credit)
return {outcome = 'APPROVE\0x'}
end
