--! uses lib
-- End the runner's previous invocations (optional), then take the best waiting message across
-- queues and, in the same atomic step, claim its invocation for the runner (-> PENDING) and start
-- it (-> RUNNING, exclusive on its own running key). The message is consumed whatever happens: an
-- invocation that cannot be claimed belongs to someone else (a duplicate message), and one refused
-- by its running key is handled by the caller from PENDING. Nothing is ever in flight, so a runner
-- dying here loses nothing.
-- ARGV: 1 P, 2 want static fields ('1'/'0'), 3..13 claim request, 14..24 start request
--       (request_at in lib.lua; their ids come from the message), 25 a nonce naming this take,
--       26 the worker (runner id and thread), 27 mode: '' plain, 'u' the worker may be idle (in
--       b:idle, or handed an invocation), 'r' the same after the worker may have lost the reply of
--       the pop of a hand-off; with a 'p' after it, the worker's BLPOP on its b:hand list follows
--       this script in the same write, so a take that returns work pushes the marker '-' there
--       for that BLPOP to return at once; 28 the worker's idle-set member ('' unless needed),
--       29 stay idle until this time if the queue is empty ('' = do not offer; one queue only),
--       30 how many more invocations to take after a first one started (a batch: only of the tasks
--       named next, and without a running key), 31 the number f of those task ids, 32..31+f the
--       ids, then the number e of endings, each 16 arguments (id, want its static fields, the request
--       with its outcome), then the queues.
-- Returns {endings, taken}: endings holds one item per ending, false (missing) or {result, mutable
-- values, static or false} as transition.lua; taken is false when the queues are empty, else a list
-- of {id, step, result, mutable values, static or false} where step is 'claim' or 'start', the last
-- one attempted (only the first can be refused: a batch follows an applied start).
-- b:took remembers, per worker, the nonce of its last take and the ids taken: a client that
-- resends the script after a lost reply gets the same invocations back instead of taking others
-- (which would leave the first RUNNING with nobody executing them). An ending is a transition, so a
-- resent one reports what it did the first time (its change token). An invocation handed to the
-- worker by register.lua is taken from its b:hand list first; b:took names it until the next take,
-- so mode 'r' gives it again if the worker never saw the pop that delivered it.
local P = ARGV[1]
local claim, start = request_at(3, false), request_at(14, false)
local worker, mode, member, until_at = ARGV[26], ARGV[27], ARGV[28], ARGV[29]
local hand = P .. 'b:hand:' .. worker
local pipelined = string.sub(mode, -1) == 'p'
if pipelined then mode = string.sub(mode, 1, -2) end
local extra, nfast = tonumber(ARGV[30]), tonumber(ARGV[31])
local fast = {}
for k = 32, 31 + nfast do fast[ARGV[k]] = true end
local at_endings = 32 + nfast
local nend = tonumber(ARGV[at_endings])
local first_queue = at_endings + 1 + 16 * nend
local endings = {}
for k = 0, nend - 1 do
  local base = at_endings + 1 + 16 * k
  local end_id = ARGV[base]
  local result, values = transition(P, end_id, request_at(base + 2, true))
  if result == 'missing' then
    endings[k + 1] = false
  else
    local static = false
    if ARGV[base + 1] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. end_id) end
    endings[k + 1] = {result, values, static}
  end
end
-- What the take returns; with a BLPOP behind this script, work taken unblocks it.
local function reply(taken)
  if pipelined and taken then redis.call('RPUSH', hand, HAND_MARK) end
  log_changes(P)
  return {endings, taken}
end
local function item(id, step, result, values, flat)
  local static = false
  if ARGV[2] == '1' then static = flat or redis.call('HGETALL', P .. 's:inv:' .. id) end
  return {id, step, result, values, static}
end
local function missing(id)
  return {id, 'claim', 'missing', {}, false}
end
-- An invocation started for this worker by someone else (a hand-off): take it as it is now.
local function started_for_worker(id)
  local cur = load(P, id)
  if not cur then return missing(id) end
  if cur.owner ~= claim.owner or cur.status ~= start.to then return item(id, 'claim', 'owner', values_of(cur)) end
  return item(id, 'start', 'applied', values_of(cur))
end
local took = redis.call('HGET', P .. 'b:took', worker)
if took then
  local token, took_ids = string.match(took, '^(.*)\t([^\t]*)$')
  if token == ARGV[25] then
    local again = {}
    for took_id in string.gmatch(took_ids, '[^,]+') do
      local cur = load(P, took_id)
      if not cur then
        again[#again + 1] = missing(took_id)
      elseif cur.owner ~= claim.owner then  -- the first run's claim was refused: say so again
        again[#again + 1] = item(took_id, 'claim', 'owner', values_of(cur))
      elseif cur.status == claim.to then
        again[#again + 1] = item(took_id, 'start', 'exclusive', values_of(cur))
      else
        again[#again + 1] = item(took_id, 'start', 'applied', values_of(cur))
      end
    end
    return reply(again)
  end
end
if mode ~= '' then
  local handed = redis.call('LPOP', hand)
  while handed == HAND_MARK do handed = redis.call('LPOP', hand) end  -- left by a failed pipelined take
  local handed_id = handed and cjson.decode(handed)[1]
  if not handed_id and mode == 'r' and took then
    -- popped by a BLPOP whose reply may never have arrived: given again if still started for us
    local lost = string.match(took, '^h\t(.*)$')
    local cur = lost and load(P, lost)
    if cur and cur.owner == claim.owner and cur.status == start.to then handed_id = lost end
  end
  if handed_id then
    redis.call('HSET', P .. 'b:took', worker, ARGV[25] .. '\t' .. handed_id)
    return reply({started_for_worker(handed_id)})
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
  return reply(false)
end
if mode ~= '' then redis.call('ZREM', idle, member) end
redis.call('HDEL', P .. 'b:loc', id)

local taken, ids = {}, {id}
local cur, flat = load_whole(P, id)
if not cur then
  taken[1] = missing(id)
else
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
  taken[1] = item(id, step, result, values, flat)
  -- A batch: more invocations of the named (short) tasks, claimed and started now, while the best
  -- message is one of them; the first other one goes back where it was.
  while result == 'applied' and #taken <= extra do
    local next_id, queue, score = pop_best(P, first_queue)
    if not next_id then break end
    local next_cur, next_flat = load_whole(P, next_id)
    if not next_cur then
      redis.call('HDEL', P .. 'b:loc', next_id)
    elseif not fast[next_cur.task] or present(next_cur.runk) or refusal(P, next_id, claim, next_cur, next_cur.status, next_cur.owner) then
      redis.call('ZADD', P .. 'b:q:' .. queue, int(score), next_id)
      break
    else
      redis.call('HDEL', P .. 'b:loc', next_id)
      local next_values = write(P, next_id, start, next_cur, {claim.entry, start.entry})
      taken[#taken + 1] = item(next_id, 'start', 'applied', next_values, next_flat)
      ids[#ids + 1] = next_id
    end
  end
end
redis.call('HSET', P .. 'b:took', worker, ARGV[25] .. '\t' .. table.concat(ids, ','))
return reply(taken)
