function decide(ctx, credit)
setmetatable({}, {__mode = 'k'})
end
