while true do end
function check(ctx, checks)

end
