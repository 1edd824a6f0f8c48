--! uses lib
-- Store new invocations (REGISTERED, one history entry each; RUNNING when handed, below) and their
-- indexes, atomically.
-- KEYS: none; every key is built from the prefix P.
--   writes  s:inv:<id>, s:hist:<id>, s:ix:st:REGISTERED, s:ix:task:<task>, s:ix:call:<task>|<call>,
--           s:ix:parent:<p>, s:ix:wf:<wf>, s:ix:run:<runk>, s:rk:REGISTERED:<runk>, s:lock:<regk>
--   reads   s:inv:<id> (an id already stored answers instead: it is not stored again), s:lock:<regk>
--           and its holder's status (a live holder answers instead)
-- With send = '1' each stored invocation is also queued, as send.lua does (one round trip instead
-- of two; broker keys b:seq, b:q:<queue>, b:loc, b:wake:<queue>, b:queues).
-- ARGV: P, now, send ('1'/'0'), inbox token of the registering process ('' = none), n_reuse, reuse
--       statuses..., then per record the 16 STATIC_FIELDS of codec.py and its history entry.
-- A stored record whose queue is empty and has an idle worker (b:idle:<queue>, added by
-- take_start.lua) is handed to that worker instead: claimed and started for it here, with the
-- worker's own request frames (stored once, as RUNNING, with the three history entries), and pushed
-- onto its b:hand list, which it blocks on. That saves the worker a take script per call when calls
-- come one at a time. A record with a running key is never handed (its start is exclusive: the
-- worker's take decides).
-- Returns one item per record: 0 when stored, or the HGETALL of the invocation stored under its id
-- or of the live holder of its registration key (the record is then not stored, sent nor handed).
local FIELDS = {'id', 'task', 'call', 'args', 'disp', 'parent', 'wf', 'wft', 'pwf', 'ver', 'queue', 'prio',
                'regk', 'runk', 'created', 'rr'}
local P, now, send, inbox = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local nreuse = tonumber(ARGV[5])
local reuse = {}
for i = 6, 5 + nreuse do reuse[#reuse + 1] = ARGV[i] end
local reuse_set = ',' .. table.concat(reuse, ',') .. ','
local sent = {}
-- Send order: the n records of this script take the next n numbers of b:seq, read at the first
-- record queued (a call handed to an idle worker needs none).
local seq, seq_base = 0, nil
local function seq_of(k)
  if not seq_base then
    local n = (#ARGV - 5 - nreuse) / 17
    seq_base = redis.call('INCRBY', P .. 'b:seq', n) - n
  end
  return seq_base + k
end
-- Per queue: false once a record of this script waits in it (later ones queue behind it, in order).
local may_hand = {}

-- An idle worker of the queue that may be handed the new record id (its fields: fields), with the
-- worker's claim and start requests at now; nil when there is none. The worker leaves the idle set.
local function idle_worker(id, queue, fields)
  if may_hand[queue] == nil then
    may_hand[queue] = redis.call('ZCARD', P .. 'b:q:' .. queue) == 0
  end
  if not may_hand[queue] then return nil end
  local idle = P .. 'b:idle:' .. queue
  while true do
    local top = redis.call('ZPOPMAX', idle)
    if not top[1] then
      may_hand[queue] = false
      return nil
    end
    local worker, frames = string.match(top[1], '^([^\n]*)\n(.*)$')
    local f = cjson.decode(frames)
    -- A worker past its time, or whose runner is no longer running (declared lost, or stopping), left
    -- without saying so: dropped. Those who declare a runner lost do so before taking back what it
    -- owns, so nothing handed to it escapes them.
    if tonumber(top[2]) >= tonumber(now) and redis.call('HGET', P .. 's:runner:' .. f[1][2], 'state') == 'running' then
      local claim, start = request_from(f[1], now), request_from(f[2], now)
      local cur = current_of(fields)
      if claim.counter ~= '' or start.counter ~= '' or start.final == '1'
          or refusal(P, id, claim, cur, cur.status, cur.owner) or refusal(P, id, start, cur, claim.to, claim.owner) then
        redis.call('ZADD', idle, top[2], top[1])
        may_hand[queue] = false
        return nil
      end
      return worker, claim, start
    end
  end
end

local out = {}
local i = 6 + nreuse
while i <= #ARGV do
  local id, task, regk, runk = ARGV[i], ARGV[i + 1], ARGV[i + 12], ARGV[i + 13]
  local known = redis.call('HGETALL', P .. 's:inv:' .. id)
  local holder = #known == 0 and regk ~= '' and held_by_other(P, regk, id, reuse_set)
  if #known > 0 then
    out[#out + 1] = known
  elseif holder then
    out[#out + 1] = redis.call('HGETALL', P .. 's:inv:' .. holder)
  else
    local fields = {status = 'REGISTERED', owner = '', retries = '0', recov = '0', updated = now}
    for j = 1, 16 do
      local value = ARGV[i + j - 1]
      if value ~= '' then fields[FIELDS[j]] = value end
    end
    local queue = ARGV[i + 10]
    -- A record with a running key is never handed (its start is exclusive: the worker's take decides).
    local worker, claim, start = nil, nil, nil
    if send then
      seq = seq + 1
      if runk == '' then worker, claim, start = idle_worker(id, queue, fields) end
    end
    -- A handed record is written once, as the worker's start leaves it (with the claim's history).
    local entries = {ARGV[i + 16]}
    if worker then
      fields.status, fields.owner, fields.chg = start.to, start.owner, start.token
      entries[2], entries[3] = claim.entry, start.entry
    end
    if inbox ~= '' then fields.inbox = inbox end
    local h = {}
    for field, value in pairs(fields) do
      h[#h + 1] = field
      h[#h + 1] = value
    end
    local status = fields.status
    redis.call('HSET', P .. 's:inv:' .. id, unpack(h))
    append_history(P, id, entries)
    redis.call('ZADD', P .. 's:ix:st:' .. status, now, id)
    redis.call('ZADD', P .. 's:ix:task:' .. task, now, id)
    redis.call('ZADD', P .. 's:ix:call:' .. task .. '|' .. ARGV[i + 2], ARGV[i + 14], id)
    if present(ARGV[i + 5]) then redis.call('ZADD', P .. 's:ix:parent:' .. ARGV[i + 5], now, id) end
    if present(ARGV[i + 6]) then redis.call('ZADD', P .. 's:ix:wf:' .. ARGV[i + 6], now, id) end
    if fields.owner ~= '' then redis.call('ZADD', P .. 's:ix:owner:' .. fields.owner, now, id) end
    if runk ~= '' then
      redis.call('ZADD', P .. 's:ix:run:' .. runk, now, id)
      redis.call('ZADD', P .. 's:rk:REGISTERED:' .. runk, now, id)
    end
    if regk ~= '' then redis.call('SET', P .. 's:lock:' .. regk, id) end
    if worker then
      local values = {status, fields.owner, '0', '0', now}
      redis.call('HSET', P .. 'b:took', worker, 'h\t' .. id)
      redis.call('RPUSH', P .. 'b:hand:' .. worker, cjson.encode({id, values, h}))
      redis.call('SADD', P .. 'b:queues', queue)
    elseif send then
      enqueue(P, queue, id, queue_score(ARGV[i + 11], seq_of(seq)))
      sent[queue] = (sent[queue] or 0) + 1
      may_hand[queue] = false
    end
    out[#out + 1] = 0
  end
  i = i + 17
end
for queue, count in pairs(sent) do wake(P, queue, count) end
log_changes(P)
return out
