--! uses lib
-- The writes that start a worker's wait, as one step: the waits-for edges (none if one would close
-- a cycle: add_waits), the waiter PAUSED and, only if that applied and a first target is named, the
-- target claimed (-> PENDING) and started (-> RUNNING, exclusive on its own running key) for the
-- worker, which runs it in its own thread; so its waiting broker message, if any, is dropped here
-- (nobody else must take it, or wake for it). A refused pause leaves no edge behind.
-- A resend of a script that ran (its reply lost) answers as it did: the pause finds its own change
-- token, and the target's start token on the target means both its steps applied. That target is
-- reported even when the pause is refused on the resend (the waiter killed or recovered between
-- the two): the caller then hands it back instead of leaving it RUNNING with nobody on it.
-- With "drop final" set, targets already final are left out first (the caller read nothing
-- before: it knows the targets from calling them), and when every target is, nothing is done.
-- ARGV: 1 P, 2 waiter, 3 want the waiter's static fields ('1'/'0'), 4..14 the pause (request_at),
--       15 the first target ('' for none), 16 want its static fields, 17..27 its claim,
--       28..38 its start, 39 "drop final": the final statuses (",A,B,") or '', then the targets.
-- Returns {'cycle', cycle}, {'missing'} (no such waiter), {'final'} (every target final, with
-- "drop final"), or {'paused', pause result, its mutable values, static or false, then claim
-- result, its values, target static, start result, its values, each false when not attempted,
-- then (with "drop final") the targets waited on, each as its id and its mutable values}.
local P, waiter, first = ARGV[1], ARGV[2], ARGV[15]
local finals = ARGV[39]
local drop_final = finals ~= ''
local targets, kept, waited = {}, {}, {}
for j = 40, #ARGV do
  local target = ARGV[j]
  local values = false
  if drop_final then
    values = redis.call('HMGET', P .. 's:inv:' .. target, 'status', 'owner', 'retries', 'recov', 'updated')
    if not values[1] then values = false end  -- missing: waited on (the wait says it vanished)
  end
  if not (values and string.find(finals, ',' .. values[1] .. ',', 1, true)) then
    targets[#targets + 1] = target
    kept[target] = true
    if drop_final then
      waited[#waited + 1] = target
      waited[#waited + 1] = values and {values[1], values[2] or '', values[3] or '0', values[4] or '0', values[5]} or false
    end
  end
end
if #targets == 0 then return {'final'} end
if not kept[first] then first = '' end
local cycle = add_waits(P, waiter, targets)
if cycle then return {'cycle', cycle} end
local paused, pause_values = transition(P, waiter, request_at(4, false))
if paused ~= 'applied' then remove_waits(P, waiter) end
if paused == 'missing' then return {'missing'} end
local waiter_static = false
if ARGV[3] == '1' then waiter_static = redis.call('HGETALL', P .. 's:inv:' .. waiter) end
local claimed, claim_values, target_static, started, start_values = false, false, false, false, false
if first ~= '' then
  local claim, start = request_at(17, false), request_at(28, false)
  local cur = load(P, first)
  if cur and cur.chg == start.token then  -- a resend: the first run started it for this worker
    claimed, claim_values, started, start_values = 'applied', values_of(cur), 'applied', values_of(cur)
  elseif paused == 'applied' and cur then  -- one write when both apply (claim_then_start in lib.lua)
    claimed, claim_values, started, start_values = claim_then_start(P, first, claim, start, cur)
  elseif paused == 'applied' then
    claimed, claim_values = 'missing', false
  end
  if claimed == 'applied' then
    local queue = redis.call('HGET', P .. 'b:loc', first)
    if queue and string.sub(queue, 1, 1) ~= '@' then  -- waiting, not in a consumer's hands
      redis.call('ZREM', P .. 'b:q:' .. queue, first)
      redis.call('HDEL', P .. 'b:loc', first)
    end
  end
  if claimed and cur and ARGV[16] == '1' then target_static = redis.call('HGETALL', P .. 's:inv:' .. first) end
end
log_changes(P)
return {'paused', paused, pause_values, waiter_static, claimed, claim_values, target_static, started, start_values,
        waited}
