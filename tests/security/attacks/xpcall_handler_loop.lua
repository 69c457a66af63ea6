function decide(ctx, credit)
xpcall(error, function() while true do end end)
end
