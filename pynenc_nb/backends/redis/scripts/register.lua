--! uses lib
-- Store new invocations (REGISTERED, one history entry each) and their indexes, atomically.
-- KEYS: none; every key is built from the prefix P.
--   writes  s:inv:<id>, s:hist:<id>, s:ix:st:REGISTERED, s:ix:task:<task>, s:ix:call:<task>|<call>,
--           s:ix:parent:<p>, s:ix:wf:<wf>, s:ix:run:<runk>, s:rk:REGISTERED:<runk>, s:rg:REGISTERED:<regk>
--   reads   s:rg:<STATUS>:<regk> for each reuse status
-- With send = '1' each stored invocation is also queued, as send.lua does (one round trip instead
-- of two; broker keys b:seq, b:q:<queue>, b:loc, b:wake:<queue>, b:queues).
-- ARGV: P, now, send ('1'/'0'), inbox token of the registering process ('' = none), n_reuse, reuse
--       statuses..., then per record the 15 STATIC_FIELDS of codec.py and its history entry.
-- Returns one item per record: 0 when stored, or the HGETALL of the live holder of its
-- registration key (the record is then not stored).
local FIELDS = {'id', 'task', 'call', 'args', 'disp', 'parent', 'wf', 'wft', 'pwf', 'ver', 'queue', 'prio',
                'regk', 'runk', 'created'}
local P, now, send, inbox = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local nreuse = tonumber(ARGV[5])
local reuse = {}
for i = 6, 5 + nreuse do reuse[#reuse + 1] = ARGV[i] end
local seq, sent = 0, {}
if send then
  local n = (#ARGV - 5 - nreuse) / 16
  seq = redis.call('INCRBY', P .. 'b:seq', n) - n
end
local out = {}
local i = 6 + nreuse
while i <= #ARGV do
  local id, task, regk, runk = ARGV[i], ARGV[i + 1], ARGV[i + 12], ARGV[i + 13]
  local holder = false
  if regk ~= '' then
    for _, status in ipairs(reuse) do
      holder = redis.call('SRANDMEMBER', P .. 's:rg:' .. status .. ':' .. regk)
      if holder then break end
    end
  end
  if holder then
    out[#out + 1] = redis.call('HGETALL', P .. 's:inv:' .. holder)
  else
    local h = {'status', 'REGISTERED', 'owner', '', 'updated', now, 'retries', '0', 'recov', '0'}
    if inbox ~= '' then h[#h + 1] = 'inbox'; h[#h + 1] = inbox end
    for j = 1, 15 do
      local value = ARGV[i + j - 1]
      if value ~= '' then
        h[#h + 1] = FIELDS[j]
        h[#h + 1] = value
      end
    end
    redis.call('HSET', P .. 's:inv:' .. id, unpack(h))
    redis.call('RPUSH', P .. 's:hist:' .. id, ARGV[i + 15])
    redis.call('ZADD', P .. 's:ix:st:REGISTERED', now, id)
    redis.call('ZADD', P .. 's:ix:task:' .. task, now, id)
    redis.call('ZADD', P .. 's:ix:call:' .. task .. '|' .. ARGV[i + 2], ARGV[i + 14], id)
    if present(ARGV[i + 5]) then redis.call('ZADD', P .. 's:ix:parent:' .. ARGV[i + 5], now, id) end
    if present(ARGV[i + 6]) then redis.call('ZADD', P .. 's:ix:wf:' .. ARGV[i + 6], now, id) end
    if runk ~= '' then
      redis.call('ZADD', P .. 's:ix:run:' .. runk, now, id)
      redis.call('ZADD', P .. 's:rk:REGISTERED:' .. runk, now, id)
    end
    if regk ~= '' then redis.call('SADD', P .. 's:rg:REGISTERED:' .. regk, id) end
    if send then
      seq = seq + 1
      local queue = ARGV[i + 10]
      enqueue(P, queue, id, queue_score(ARGV[i + 11], seq))
      sent[queue] = (sent[queue] or 0) + 1
    end
    out[#out + 1] = 0
  end
  i = i + 16
end
for queue, count in pairs(sent) do wake(P, queue, count) end
return out
