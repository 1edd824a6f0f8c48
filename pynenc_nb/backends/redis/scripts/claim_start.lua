--! uses lib
-- A delivery from another broker (RabbitMQ) claimed and started in one step: the claim (-> PENDING)
-- and, only if it applied, the start (-> RUNNING, exclusive on the record's own running key).
-- ARGV: 1 P, 2 id, 3 want static fields ('1'/'0'), 4..14 the claim, 15..25 the start (request_at).
-- Returns {'missing'} or {claim result, its mutable values, static HGETALL or false,
--          start result or false, its mutable values or false}.
local P, id = ARGV[1], ARGV[2]
local claimed, claim_values = transition(P, id, request_at(4, false))
if claimed == 'missing' then return {'missing'} end
local started, start_values = false, false
if claimed == 'applied' then
  started, start_values = transition(P, id, request_at(15, false))
end
log_changes(P)
local static = false
if ARGV[3] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. id) end
return {claimed, claim_values, static, started, start_values}
