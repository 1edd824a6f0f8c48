-- Shared helpers, prepended to the scripts that say "--! uses lib".
-- P is the app prefix "pynenc:{<app_id>}:"; every key below is built from it (layout: keys.py).
-- Numbers computed in Lua are formatted explicitly: Lua's own conversion keeps only 14 digits.

local SCORE_SPAN = 1099511627776  -- 2^40: queue score = -priority * 2^40 + seq
local WAKE_CAP = 128              -- wake-up tokens kept per queue
local MAX_PRIORITY = 4095         -- |priority| bound that keeps scores exact (broker.py)
local INBOX_TTL_S = 86400         -- an inbox nobody pops (its process is gone) expires
local HAND_MARK = '-'             -- on a b:hand list: no invocation, only a wake-up (take_start.lua)
local CHANGES_KEPT = 100000       -- s:chg keeps about this many of its newest entries, each >= 1 change

local function present(value)
  return value and value ~= ''
end

-- State: append an invocation's new history entries to its list, and note them for the app's
-- change log (s:chg, read by changes_since): every path that changes a status passes here. The
-- notes go to the log in one stream entry per script (log_changes, before the script returns).
local CHANGES = {}
local function append_history(P, id, entries)
  redis.call('RPUSH', P .. 's:hist:' .. id, unpack(entries))
  for _, entry in ipairs(entries) do CHANGES[#CHANGES + 1] = id .. '\t' .. entry end
end

-- State: this script's changes as one s:chg entry, field c: "<id>\t<entry>" lines in store order.
local function log_changes(P)
  if #CHANGES == 0 then return end
  redis.call('XADD', P .. 's:chg', 'MAXLEN', '~', CHANGES_KEPT, '*', 'c', table.concat(CHANGES, '\n'))
  CHANGES = {}
end

-- HMGET of many fields, in slices (unpack takes a few thousand values at most); false where missing.
local function hash_values(key, fields)
  local values = {}
  for first = 1, #fields, 1000 do
    for _, value in ipairs(redis.call('HMGET', key, unpack(fields, first, math.min(first + 999, #fields)))) do
      values[#values + 1] = value
    end
  end
  return values
end

local function int(value)
  return string.format('%.0f', value)
end

-- Broker: the queue score of the seq-th message sent, with a priority (higher first, then FIFO).
local function queue_score(priority, seq)
  return -math.max(-MAX_PRIORITY, math.min(MAX_PRIORITY, tonumber(priority))) * SCORE_SPAN + seq
end

-- Broker: put id in a queue with a score; an id already waiting keeps its better (lower) score.
local function enqueue(P, queue, id, score)
  redis.call('ZADD', P .. 'b:q:' .. queue, 'LT', int(score), id)
  redis.call('HSET', P .. 'b:loc', id, queue)
end

-- Broker: one token per message for consumers blocked in BLPOP on the queue's wake list.
local function wake(P, queue, count)
  local key = P .. 'b:wake:' .. queue
  local tokens = {}
  for k = 1, math.min(count, WAKE_CAP) do tokens[k] = '1' end
  if redis.call('LPUSH', key, unpack(tokens)) > WAKE_CAP then
    redis.call('LTRIM', key, 0, WAKE_CAP - 1)
  end
  redis.call('SADD', P .. 'b:queues', queue)
end

-- Broker: the queues are empty, so their wake-up tokens are stale (messages taken by scripts leave
-- theirs behind): drop them, or the next blocked consumers would wake for nothing, once per token.
local function drop_wake_tokens(P, first)
  for j = first, #ARGV do redis.call('DEL', P .. 'b:wake:' .. ARGV[j]) end
end

-- Broker: pop the best waiting message of the queues named by ARGV[first..]; nil when all are empty.
-- Returns id, queue, score (lower score first: higher priority, then older).
local function pop_best(P, first)
  if #ARGV == first then
    local r = redis.call('ZPOPMIN', P .. 'b:q:' .. ARGV[first])
    if not r[1] then
      drop_wake_tokens(P, first)
      return nil
    end
    return r[1], ARGV[first], tonumber(r[2])
  end
  local id, queue, score
  for j = first, #ARGV do
    local r = redis.call('ZRANGE', P .. 'b:q:' .. ARGV[j], 0, 0, 'WITHSCORES')
    if r[1] and (not score or tonumber(r[2]) < score) then id, queue, score = r[1], ARGV[j], tonumber(r[2]) end
  end
  if not id then
    drop_wake_tokens(P, first)
    return nil
  end
  redis.call('ZREM', P .. 'b:q:' .. queue, id)
  return id, queue, score
end

-- Byte order, as zsets order members of equal score (string comparison in Lua follows the locale).
local function after(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = a:byte(k), b:byte(k)
    if x ~= y then return x > y end
  end
  return #a > #b
end

-- Compare-and-set of an invocation's status (records.TransitionRequest) in three steps, so that a
-- script can chain requests and write once. c holds one request:
--   to, owner (new, '' = none), at, counter ('' | 'retries' | 'recov'), entry, token, final ('1'/'0'),
--   exkey ('' = none, '=' = the record's own running key), from (",A,B,"), owners ('*' = any, else each
--   owner between \31 separators), exstatuses (",A,"), and optionally kind, payload, display.

-- The fields of the current record that compare-and-sets and index moves read.
local CURRENT = {'status', 'owner', 'retries', 'recov', 'updated', 'chg', 'task', 'parent', 'wf', 'runk', 'regk',
                 'inbox', 'watched'}

-- The current record from a field -> value table (a missing field is nil or false).
local function current_of(h)
  return {status = h.status, owner = h.owner or '', retries = h.retries or '0', recov = h.recov or '0',
          updated = h.updated, chg = h.chg, task = h.task, parent = h.parent, wf = h.wf, runk = h.runk,
          regk = h.regk, inbox = h.inbox, watched = h.watched}
end

-- The current record, or nil when the invocation does not exist.
local function load(P, id)
  local values = redis.call('HMGET', P .. 's:inv:' .. id, unpack(CURRENT))
  if not values[1] then return nil end
  local h = {}
  for k, field in ipairs(CURRENT) do h[field] = values[k] end
  return current_of(h)
end

-- The current record read whole, and that HGETALL reply (static fields for the caller): one read
-- where load() and a later HGETALL would convert the hash twice.
local function load_whole(P, id)
  local flat = redis.call('HGETALL', P .. 's:inv:' .. id)
  if #flat == 0 then return nil, nil end
  local h = {}
  for k = 1, #flat, 2 do h[flat[k]] = flat[k + 1] end
  return current_of(h), flat
end

-- Waiting: push a final invocation's note to a process's inbox (notify.py); a list nobody pops
-- expires.
local function notify(P, token, note)
  local key = P .. 's:inbox:' .. token
  if redis.call('RPUSH', key, note) == 1 then redis.call('EXPIRE', key, INBOX_TTL_S) end
end

-- Waiting: the inbox token of the process running this script when it tells its own waiters of
-- the endings it stores (notify.py, FinalWatcher.stored_final): no note is pushed to it then.
local HERE = ''
local function storing_process(token)
  HERE = token
end

-- Waiting: tell the registering process and every process watching the id that it is final
-- (except the storing process itself, HERE). The note carries what a waiter reads next (mutable
-- values and outcome): JSON [id, status, owner, retries, recov, updated, kind, payload, display],
-- '' for no outcome.
local function announce_final(P, id, cur, values, c)
  local watchers = false
  if cur.watched == '1' then
    watchers = redis.call('SMEMBERS', P .. 's:watchers:' .. id)
    redis.call('DEL', P .. 's:watchers:' .. id)
  end
  local inbox = present(cur.inbox) and cur.inbox ~= HERE and cur.inbox
  if not inbox and not watchers then return end
  local note = cjson.encode({id, values[1], values[2], values[3], values[4], values[5],
                             c.kind or '', c.payload or '', c.display or ''})
  if inbox then notify(P, inbox, note) end
  if watchers then
    for _, token in ipairs(watchers) do
      if token ~= cur.inbox and token ~= HERE then notify(P, token, note) end
    end
  end
end

-- State: a concurrency key (s:lock:<key>, ports.state.KeyLocks) names the invocation that last took
-- it, which holds it only while its status is one of statuses (",A,B,"): that holder when it is
-- another invocation than id, else false.
local function held_by_other(P, key, id, statuses)
  local holder = redis.call('GET', P .. 's:lock:' .. key)
  if not holder or holder == id then return false end
  local status = redis.call('HGET', P .. 's:inv:' .. holder, 'status')
  if status and string.find(statuses, ',' .. status .. ',', 1, true) then return holder end
  return false
end

-- nil when request c may apply to a record in (status, owner), else 'status', 'owner' or 'exclusive'.
local function refusal(P, id, c, cur, status, owner)
  if not string.find(c.from, ',' .. status .. ',', 1, true) then return 'status' end
  if c.owners ~= '*' and not string.find(c.owners, '\31' .. owner .. '\31', 1, true) then return 'owner' end
  local exkey = c.exkey
  if exkey == '=' then exkey = cur.runk or '' end
  if exkey ~= '' and held_by_other(P, exkey, id, c.exstatuses) then return 'exclusive' end
  return nil
end

-- Write the record as request c (the last of a chain) leaves it, append the chain's history entries,
-- store the outcome, move the indexes and, for a final status, announce the id to the inboxes waiting. Returns the mutable
-- values {status, owner, retries, recov, updated}.
local function write(P, id, c, cur, entries)
  local inv = P .. 's:inv:' .. id
  local status, owner, to, new_owner, at = cur.status, cur.owner, c.to, c.owner, c.at
  redis.call('HSET', inv, 'status', to, 'owner', new_owner, 'updated', at, 'chg', c.token)
  local retries, recov = cur.retries, cur.recov
  if c.counter == 'retries' then retries = redis.call('HINCRBY', inv, 'retries', 1) end
  if c.counter == 'recov' then recov = redis.call('HINCRBY', inv, 'recov', 1) end
  append_history(P, id, entries)
  if c.kind then
    redis.call('HSET', P .. 's:out:' .. id, 'kind', c.kind, 'payload', c.payload, 'display', c.display)
  end
  if status ~= to then redis.call('ZREM', P .. 's:ix:st:' .. status, id) end
  redis.call('ZADD', P .. 's:ix:st:' .. to, at, id)
  redis.call('ZADD', P .. 's:ix:task:' .. cur.task, at, id)
  if present(cur.parent) then redis.call('ZADD', P .. 's:ix:parent:' .. cur.parent, at, id) end
  if present(cur.wf) then redis.call('ZADD', P .. 's:ix:wf:' .. cur.wf, at, id) end
  if owner ~= '' and owner ~= new_owner then redis.call('ZREM', P .. 's:ix:owner:' .. owner, id) end
  if new_owner ~= '' then redis.call('ZADD', P .. 's:ix:owner:' .. new_owner, at, id) end
  local runk = cur.runk
  if present(runk) then
    redis.call('ZADD', P .. 's:ix:run:' .. runk, at, id)
    if status ~= to then redis.call('ZREM', P .. 's:rk:' .. status .. ':' .. runk, id) end
    redis.call('ZADD', P .. 's:rk:' .. to .. ':' .. runk, at, id)
  end
  local exkey = c.exkey
  if exkey == '=' then exkey = runk or '' end
  if present(exkey) then redis.call('SET', P .. 's:lock:' .. exkey, id) end
  local values = {to, new_owner, tostring(retries), tostring(recov), at}
  if c.final == '1' then announce_final(P, id, cur, values, c) end
  return values
end

-- The mutable values of a record as it is.
local function values_of(cur)
  return {cur.status, cur.owner, cur.retries, cur.recov, cur.updated}
end

-- One compare-and-set. Returns 'missing', or the result ('applied' | 'status' | 'owner' |
-- 'exclusive') and the mutable values after it.
local function transition(P, id, c)
  local cur = load(P, id)
  if not cur then return 'missing', nil end
  local conflict = refusal(P, id, c, cur, cur.status, cur.owner)
  if conflict then
    if cur.chg == c.token then return 'applied', values_of(cur) end  -- a retry of a change already made
    return conflict, values_of(cur)
  end
  return 'applied', write(P, id, c, cur, {c.entry})
end

-- A claim (-> PENDING) then, only if it applied, a start (-> RUNNING) of the invocation whose record
-- is cur. When both apply and neither counts, ends or is exclusive on the claim, the record is
-- written once, as the start leaves it, with both history entries (half the commands of two
-- writes); else as two transitions. Returns the claim's result and values, then the start's (false,
-- false when it was not tried).
local function claim_then_start(P, id, claim, start, cur)
  if claim.counter == '' and start.counter == '' and claim.exkey == '' and claim.final ~= '1' and start.final ~= '1'
      and not refusal(P, id, claim, cur, cur.status, cur.owner)
      and not refusal(P, id, start, cur, claim.to, claim.owner) then
    local claim_values = {claim.to, claim.owner, cur.retries, cur.recov, claim.at}
    return 'applied', claim_values, 'applied', write(P, id, start, cur, {claim.entry, start.entry})
  end
  local claimed, claim_values = transition(P, id, claim)
  if claimed ~= 'applied' then return claimed, claim_values, false, false end
  local started, start_values = transition(P, id, start)
  return claimed, claim_values, started, start_values
end

-- The request fields of transition() from ARGV[first..first+10] (+3 outcome fields when has_outcome).
local function request_at(first, has_outcome)
  local a = ARGV
  local c = {to = a[first], owner = a[first + 1], at = a[first + 2], counter = a[first + 3],
             entry = a[first + 4], token = a[first + 5], final = a[first + 6], exkey = a[first + 7],
             from = a[first + 8], owners = a[first + 9], exstatuses = a[first + 10]}
  if has_outcome then c.kind, c.payload, c.display = a[first + 11], a[first + 12], a[first + 13] end
  return c
end

-- A request from a frame (invocations.frame_args: the request without its time) and a time.
local function request_from(f, at)
  return {to = f[1], owner = f[2], at = at, counter = f[3], entry = f[4] .. at .. f[5], token = f[6] .. at,
          final = f[7], exkey = f[8], from = f[9], owners = f[10], exstatuses = f[11]}
end

-- Waits-for graph: record that a waiter waits on targets, unless an edge would close a cycle: the
-- search and the insert are one step, so two mutual waits can never both succeed. Reads
-- s:waits:<node>, writes s:waits:<waiter> and s:waiters:<target>. Returns the cycle
-- {waiter, ..., waiter} (nothing stored), or false once the edges are stored.
local function add_waits(P, waiter, targets)
  local parents, frontier = {}, {}
  for _, target in ipairs(targets) do
    if target == waiter then return {waiter, waiter} end
    if not parents[target] then
      parents[target] = waiter
      frontier[#frontier + 1] = target
    end
  end
  while #frontier > 0 do
    local node = table.remove(frontier)
    for _, nxt in ipairs(redis.call('SMEMBERS', P .. 's:waits:' .. node)) do
      if nxt == waiter then
        local path = {node}
        while path[#path] ~= waiter do path[#path + 1] = parents[path[#path]] end
        local cycle = {waiter}
        for k = #path - 1, 1, -1 do cycle[#cycle + 1] = path[k] end
        cycle[#cycle + 1] = waiter
        return cycle
      end
      if not parents[nxt] then
        parents[nxt] = node
        frontier[#frontier + 1] = nxt
      end
    end
  end
  for _, target in ipairs(targets) do
    redis.call('SADD', P .. 's:waits:' .. waiter, target)
    redis.call('SADD', P .. 's:waiters:' .. target, waiter)
  end
  return false
end

-- Waits-for graph: drop every edge of a waiter.
local function remove_waits(P, waiter)
  local waits = P .. 's:waits:' .. waiter
  for _, target in ipairs(redis.call('SMEMBERS', waits)) do
    redis.call('SREM', P .. 's:waiters:' .. target, waiter)
  end
  redis.call('DEL', waits)
end
