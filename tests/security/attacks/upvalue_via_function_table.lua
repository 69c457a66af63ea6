local M = {state = {}}
function apply(ctx, promotions)
M.state[#M.state + 1] = 1
end
