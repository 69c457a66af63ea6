function decide(ctx, credit)
return {outcome = table.concat(setmetatable({}, {__index = tostring}), '', 1, 2^40)}
end
