--! uses lib
-- A delivery from another broker (RabbitMQ) claimed and started in one step: the claim (-> PENDING)
-- and, only if it applied, the start (-> RUNNING, exclusive on the record's own running key).
-- A resend of a script that ran (its reply lost) finds the start's own change token on the record
-- and answers as it did, instead of refusing the claim of an invocation already RUNNING.
-- ARGV: 1 P, 2 id, 3 want static fields ('1'/'0'), 4..14 the claim, 15..25 the start (request_at).
-- Returns {'missing'} or {claim result, its mutable values, static HGETALL or false,
--          start result or false, its mutable values or false}.
local P, id = ARGV[1], ARGV[2]
local claim, start = request_at(4, false), request_at(15, false)
local cur = load(P, id)
if not cur then return {'missing'} end
local static = false
if cur.chg == start.token then
  if ARGV[3] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. id) end
  local values = values_of(cur)
  return {'applied', values, static, 'applied', values}
end
-- Claimed and started: in one write when both apply (claim_then_start in lib.lua).
local claimed, claim_values, started, start_values = claim_then_start(P, id, claim, start, cur)
log_changes(P)
if ARGV[3] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. id) end
return {claimed, claim_values, static, started, start_values}
