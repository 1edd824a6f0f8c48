-- Invocations per status within a filter (the InvocationFilter semantics of backends/paging.py).
-- KEYS: none; reads s:ix:st:<S> or the index zsets named in ARGV, and s:inv:<id> (built from P).
-- ARGV: 1 P, 2 min score, 3 max score (ZRANGEBYSCORE syntax), 4 n_statuses, statuses to count...,
--       then 'fast' (nothing else to filter: ZCOUNT per status) or 'scan' followed by task, owner,
--       parent, workflow, running key ('' = any) and the candidate groups as in query.lua.
-- Returns {status, count, ...} for the statuses with a count above zero.
local P, mins, maxs = ARGV[1], ARGV[2], ARGV[3]
local n = tonumber(ARGV[4])
local statuses, wanted = {}, {}
for j = 5, 4 + n do
  statuses[#statuses + 1] = ARGV[j]
  wanted[ARGV[j]] = true
end
local i = 5 + n
local out = {}
if ARGV[i] == 'fast' then
  for _, s in ipairs(statuses) do
    local c = redis.call('ZCOUNT', P .. 's:ix:st:' .. s, mins, maxs)
    if c > 0 then
      out[#out + 1] = s
      out[#out + 1] = c
    end
  end
  return out
end
local want = {ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]}
i = i + 6
local best, best_size = nil, math.huge
for _ = 1, tonumber(ARGV[i]) do
  local size, group = 0, {}
  for j = i + 2, i + 1 + tonumber(ARGV[i + 1]) do
    group[#group + 1] = ARGV[j]
    size = size + redis.call('ZCARD', ARGV[j])
  end
  if size < best_size then best, best_size = group, size end
  i = i + 1 + #group
end
local counts = {}
for _, key in ipairs(best) do
  local offset = 0
  while true do
    local ids = redis.call('ZRANGEBYSCORE', key, mins, maxs, 'LIMIT', offset, 500)
    for _, id in ipairs(ids) do
      local r = redis.call('HMGET', P .. 's:inv:' .. id, 'status', 'task', 'owner', 'parent', 'wf', 'runk')
      local ok = r[1] and wanted[r[1]]
      for k = 1, 5 do
        if ok and want[k] ~= '' and r[k + 1] ~= want[k] then ok = false end
      end
      if ok then counts[r[1]] = (counts[r[1]] or 0) + 1 end
    end
    if #ids < 500 then break end
    offset = offset + 500
  end
end
for s, c in pairs(counts) do
  out[#out + 1] = s
  out[#out + 1] = c
end
return out
