function decide(ctx, credit)
return {outcome = 'REVIEW', reasons = {'bad \xff\xfe', ('\u{20AC}'):rep(1000), 'nul\0x'}}
end
