function decide(ctx, credit)
error('bad \xff\xfe bytes')
end
