--! uses lib
-- One compare-and-set of an invocation's status (see records.TransitionRequest), atomically:
-- check status, owner and the exclusive running key; then write the record, append the history
-- entry, store the outcome, move the indexes and, for a final status, publish the id.
-- KEYS[1] s:inv:<id>   KEYS[2] s:hist:<id>   KEYS[3] s:out:<id>
--   also  s:ix:st:<S>, s:ix:task:<t>, s:ix:owner:<o>, s:ix:parent:<p>, s:ix:wf:<w>,
--         s:ix:run:<k>, s:rk:<S>:<k>, s:rg:<S>:<k> (built from P), channel "final"
-- ARGV: 1 P, 2 id, 3 new status, 4 new owner ('' = none), 5 at, 6 counter field ('' = none),
--       7 history entry, 8 change token, 9 final ('1'/'0'), 10 exclusive key ('' = none),
--       11 want static fields ('1'/'0'), 12 allowed from (",A,B,"), 13 allowed owners ('*' = any,
--       else each owner between \31 separators, '' for none), 14 exclusive statuses (",A,"),
--       then optionally outcome kind, payload, display.
-- Returns {'missing'} or {result, mutable values, static HGETALL or false} where result is
-- 'applied', 'status', 'owner' or 'exclusive', and mutable values are status, owner, retries,
-- recov, updated.
local inv = KEYS[1]
local P, id, to, new_owner, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local cur = redis.call('HMGET', inv, 'status', 'owner', 'retries', 'recov', 'updated', 'chg',
                       'task', 'parent', 'wf', 'runk', 'regk')
local status = cur[1]
if not status then return {'missing'} end
local owner = cur[2] or ''

local function reply(result, values)
  local static = false
  if ARGV[11] == '1' then static = redis.call('HGETALL', inv) end
  return {result, values, static}
end

local conflict = nil
if not string.find(ARGV[12], ',' .. status .. ',', 1, true) then
  conflict = 'status'
elseif ARGV[13] ~= '*' and not string.find(ARGV[13], '\31' .. owner .. '\31', 1, true) then
  conflict = 'owner'
elseif ARGV[10] ~= '' then
  for excluded in string.gmatch(ARGV[14], '[^,]+') do
    for _, holder in ipairs(redis.call('ZRANGE', P .. 's:rk:' .. excluded .. ':' .. ARGV[10], 0, 1)) do
      if holder ~= id then conflict = 'exclusive' end
    end
  end
end
local current = {status, owner, cur[3] or '0', cur[4] or '0', cur[5]}
if conflict then
  if cur[6] == ARGV[8] then return reply('applied', current) end  -- a retry of a change already made
  return reply(conflict, current)
end

redis.call('HSET', inv, 'status', to, 'owner', new_owner, 'updated', at, 'chg', ARGV[8])
local retries, recov = current[3], current[4]
if ARGV[6] == 'retries' then retries = redis.call('HINCRBY', inv, 'retries', 1) end
if ARGV[6] == 'recov' then recov = redis.call('HINCRBY', inv, 'recov', 1) end
redis.call('RPUSH', KEYS[2], ARGV[7])
if #ARGV >= 17 then
  redis.call('HSET', KEYS[3], 'kind', ARGV[15], 'payload', ARGV[16], 'display', ARGV[17])
end

if status ~= to then redis.call('ZREM', P .. 's:ix:st:' .. status, id) end
redis.call('ZADD', P .. 's:ix:st:' .. to, at, id)
redis.call('ZADD', P .. 's:ix:task:' .. cur[7], at, id)
if present(cur[8]) then redis.call('ZADD', P .. 's:ix:parent:' .. cur[8], at, id) end
if present(cur[9]) then redis.call('ZADD', P .. 's:ix:wf:' .. cur[9], at, id) end
if owner ~= '' and owner ~= new_owner then redis.call('ZREM', P .. 's:ix:owner:' .. owner, id) end
if new_owner ~= '' then redis.call('ZADD', P .. 's:ix:owner:' .. new_owner, at, id) end
local runk, regk = cur[10], cur[11]
if present(runk) then
  redis.call('ZADD', P .. 's:ix:run:' .. runk, at, id)
  if status ~= to then redis.call('ZREM', P .. 's:rk:' .. status .. ':' .. runk, id) end
  redis.call('ZADD', P .. 's:rk:' .. to .. ':' .. runk, at, id)
end
if present(regk) and status ~= to then
  redis.call('SREM', P .. 's:rg:' .. status .. ':' .. regk, id)
  redis.call('SADD', P .. 's:rg:' .. to .. ':' .. regk, id)
end
if ARGV[9] == '1' then redis.call('PUBLISH', P .. 'final', id) end
return reply('applied', {to, new_owner, tostring(retries), tostring(recov), at})
