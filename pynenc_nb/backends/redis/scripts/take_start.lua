--! uses lib
-- End the runner's previous invocation (optional), then take the best waiting message across
-- queues and, in the same atomic step, claim its invocation for the runner (-> PENDING) and start
-- it (-> RUNNING, exclusive on its own running key). The message is consumed whatever happens: an
-- invocation that cannot be claimed belongs to someone else (a duplicate message), and one refused
-- by its running key is handled by the caller from PENDING. Nothing is ever in flight, so a runner
-- dying here loses nothing.
-- ARGV: 1 P, 2 want static fields ('1'/'0'), 3..13 claim request, 14..24 start request
--       (request_at in lib.lua; their ids come from the message), 25 a nonce naming this take,
--       26 the worker (runner id and thread), 27 mode: '' plain, 'u' the worker may be idle (in
--       b:idle, or handed an invocation), 'r' the same after the worker may have lost the reply of
--       the pop of a hand-off, 28 the worker's idle-set member ('' unless mode or 29 needs it),
--       29 stay idle until this time if the queue is empty ('' = do not offer; one queue only),
--       30 the number n of ending arguments (0, or 16: id, want its static fields, the request with
--       its outcome), 31..30+n the ending, then the queues.
-- Returns {ending, taken}: ending is false or {result, mutable values, static or false} as
-- transition.lua; taken is false when the queues are empty, else {id, step, result, mutable values,
-- static or false} where step is 'claim' or 'start', the last one attempted.
-- b:took remembers, per worker, the nonce of its last take and the id taken: a client that
-- resends the script after a lost reply gets the same invocation back instead of taking another
-- (which would leave the first RUNNING with nobody executing it). The ending is a transition, so a
-- resent one reports what it did the first time (its change token). An invocation handed to the
-- worker by register.lua is taken from its b:hand list first; b:took names it until the next take,
-- so mode 'r' gives it again if the worker never saw the pop that delivered it.
local P = ARGV[1]
local claim, start = request_at(3, false), request_at(14, false)
local worker, mode, member, until_at = ARGV[26], ARGV[27], ARGV[28], ARGV[29]
local nend = tonumber(ARGV[30])
local first_queue = 31 + nend
local ending = false
if nend > 0 then
  local end_id = ARGV[31]
  local result, values = transition(P, end_id, request_at(33, true))
  if result == 'missing' then
    ending = {'missing', {}, false}
  else
    local static = false
    if ARGV[32] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. end_id) end
    ending = {result, values, static}
  end
end
local function reply(id, step, result, values, flat)
  local static = false
  if ARGV[2] == '1' then static = flat or redis.call('HGETALL', P .. 's:inv:' .. id) end
  return {ending, {id, step, result, values, static}}
end
-- An invocation started for this worker by someone else (a hand-off): take it as it is now.
local function started_for_worker(id)
  local cur = load(P, id)
  if not cur then return {ending, {id, 'claim', 'missing', {}, false}} end
  if cur.owner ~= claim.owner or cur.status ~= start.to then return reply(id, 'claim', 'owner', values_of(cur)) end
  return reply(id, 'start', 'applied', values_of(cur))
end
local took = redis.call('HGET', P .. 'b:took', worker)
if took then
  local token, took_id = string.match(took, '^(.*)\t([^\t]*)$')
  if token == ARGV[25] then
    local cur = load(P, took_id)
    if not cur then return {ending, {took_id, 'claim', 'missing', {}, false}} end
    -- the first run's claim was refused (another runner has it): say so again
    if cur.owner ~= claim.owner then return reply(took_id, 'claim', 'owner', values_of(cur)) end
    if cur.status == claim.to then return reply(took_id, 'start', 'exclusive', values_of(cur)) end
    return reply(took_id, 'start', 'applied', values_of(cur))
  end
end
if mode ~= '' then
  local handed = redis.call('LPOP', P .. 'b:hand:' .. worker)
  local handed_id = handed and cjson.decode(handed)[1]
  if not handed_id and mode == 'r' and took then
    -- popped by a BLPOP whose reply may never have arrived: given again if still started for us
    local lost = string.match(took, '^h\t(.*)$')
    local cur = lost and load(P, lost)
    if cur and cur.owner == claim.owner and cur.status == start.to then handed_id = lost end
  end
  if handed_id then
    redis.call('HSET', P .. 'b:took', worker, ARGV[25] .. '\t' .. handed_id)
    return started_for_worker(handed_id)
  end
end
local id = pop_best(P, first_queue)
local idle = P .. 'b:idle:' .. ARGV[first_queue]
if not id then
  if until_at ~= '' then
    redis.call('ZADD', idle, until_at, member)
  elseif mode ~= '' then
    redis.call('ZREM', idle, member)
  end
  return {ending, false}
end
if mode ~= '' then redis.call('ZREM', idle, member) end
redis.call('HDEL', P .. 'b:loc', id)
redis.call('HSET', P .. 'b:took', worker, ARGV[25] .. '\t' .. id)

local cur, flat = load_whole(P, id)
if not cur then return {ending, {id, 'claim', 'missing', {}, false}} end
local step, result, values = 'claim', refusal(P, id, claim, cur, cur.status, cur.owner), nil
if result then
  values = values_of(cur)
else
  step = 'start'
  result = refusal(P, id, start, cur, claim.to, claim.owner)
  if result then  -- claimed, but its running key is held: the caller handles it from PENDING
    values = write(P, id, claim, cur, {claim.entry})
  else
    values = write(P, id, start, cur, {claim.entry, start.entry})
    result = 'applied'
  end
end
return reply(id, step, result, values, flat)
