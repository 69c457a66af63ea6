function decide(ctx, credit)
getmetatable('').__index.upper = nil
end
