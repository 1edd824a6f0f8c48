--! uses lib
-- A page of invocations, most recently updated first, ties by id descending (the order of
-- ZREVRANGEBYSCORE), walking the most selective index and checking the other filters on the record.
-- KEYS: none; reads the index zsets named in ARGV and s:inv:<id> (built from P).
-- ARGV: 1 P, 2 limit, 3 max score (ZREVRANGEBYSCORE syntax), 4 min score, 5 cursor at ('' = none),
--       6 cursor id, 7 with the serialized arguments ('1'/'0'), 8 n_statuses (-1 = any), statuses...,
--       then task, owner, parent, workflow, running key ('' = any), then n_groups and per group
--       n_keys, keys... (candidate indexes; a group is a union, e.g. one zset per status).
-- Returns {more (0/1), HGETALL of each record of the page (without its args field when not asked)...}.
local P = ARGV[1]
local limit = tonumber(ARGV[2])
local maxs, mins = ARGV[3], ARGV[4]
local cursor_at = tonumber(ARGV[5])
local cursor_id = ARGV[6]
local with_args = ARGV[7] == '1'
local i = 8
local nstatuses = tonumber(ARGV[i])
i = i + 1
local statuses = false
if nstatuses >= 0 then
  statuses = {}
  for j = i, i + nstatuses - 1 do statuses[ARGV[j]] = true end
  i = i + nstatuses
end
local want = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]}  -- task owner parent wf runk
i = i + 5
local groups = {}
for _ = 1, tonumber(ARGV[i]) do
  local n = tonumber(ARGV[i + 1])
  local group = {}
  for j = i + 2, i + 1 + n do group[#group + 1] = ARGV[j] end
  groups[#groups + 1] = group
  i = i + 1 + n
end
local best, best_size = groups[1], math.huge
if #groups > 1 then
  for _, group in ipairs(groups) do
    local size = 0
    for _, key in ipairs(group) do size = size + redis.call('ZCARD', key) end
    if size < best_size then best, best_size = group, size end
  end
end

local batch = math.min(math.max(limit + 1, 32), 500)
local sources = {}
for _, key in ipairs(best) do sources[#sources + 1] = {key = key, buf = {}, pos = 1, offset = 0, done = false} end
local function head(s)
  if s.pos > #s.buf then
    if s.done then return nil end
    local r = redis.call('ZREVRANGEBYSCORE', s.key, maxs, mins, 'WITHSCORES', 'LIMIT', s.offset, batch)
    s.buf, s.pos = {}, 1
    for k = 1, #r, 2 do s.buf[#s.buf + 1] = {r[k], tonumber(r[k + 1])} end
    s.offset = s.offset + #s.buf
    if #s.buf < batch then s.done = true end
    if #s.buf == 0 then return nil end
  end
  return s.buf[s.pos]
end
local function next_entry()
  local chosen, top = nil, nil
  for _, s in ipairs(sources) do
    local e = head(s)
    if e and (not top or e[2] > top[2] or (e[2] == top[2] and after(e[1], top[1]))) then chosen, top = s, e end
  end
  if chosen then chosen.pos = chosen.pos + 1 end
  return top
end

local found = {}
while #found <= limit do
  local e = next_entry()
  if not e then break end
  if not (cursor_at and e[2] == cursor_at and not after(cursor_id, e[1])) then
    local r = redis.call('HMGET', P .. 's:inv:' .. e[1], 'status', 'task', 'owner', 'parent', 'wf', 'runk')
    local ok = r[1] and (not statuses or statuses[r[1]])
    for k = 1, 5 do
      if ok and want[k] ~= '' and r[k + 1] ~= want[k] then ok = false end
    end
    if ok then found[#found + 1] = e[1] end
  end
end
local out = {#found > limit and 1 or 0}
for k = 1, math.min(#found, limit) do
  local flat = redis.call('HGETALL', P .. 's:inv:' .. found[k])
  if not with_args then
    local kept = {}
    for j = 1, #flat, 2 do
      if flat[j] ~= 'args' then
        kept[#kept + 1] = flat[j]
        kept[#kept + 1] = flat[j + 1]
      end
    end
    flat = kept
  end
  out[#out + 1] = flat
end
return out
