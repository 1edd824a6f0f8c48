--! uses lib
-- One compare-and-set of an invocation's status: transition() in lib.lua, plus the static fields
-- when the caller does not have them cached.
-- ARGV: 1 P, 2 id, 3 want static fields ('1'/'0'), 4 the inbox token of the storing process when it
--       tells its own waiters itself ('' = push to it too: storing_process in lib.lua), 5..15 the
--       request (request_at in lib.lua), then optionally outcome kind, payload, display.
-- Returns {'missing'} or {result, mutable values, static HGETALL or false}.
local P, id = ARGV[1], ARGV[2]
storing_process(ARGV[4])
local result, values = transition(P, id, request_at(5, #ARGV >= 18))
if result == 'missing' then return {'missing'} end
log_changes(P)
local static = false
if ARGV[3] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. id) end
return {result, values, static}
