function decide(ctx, credit)
load('return 1')()
end
