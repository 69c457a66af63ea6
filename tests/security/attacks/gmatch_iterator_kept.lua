local it = ('a b c d e f g h'):gmatch('%a')
function price(ctx)
local w = it()
end
