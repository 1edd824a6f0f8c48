-- Store a trigger run, or list runs newest first (ties by id descending).
-- KEYS: none; t:run:<id>, t:runs and t:runs:<trigger_id> (built from P).
-- ARGV: P, 'add', run_id, trigger_id, source_id, invocation_id ('' = none), at -> 0
--       P, 'list', trigger_id ('' = any), limit -> {run_id, trigger_id, source_id, invocation_id, at, ...}
local P = ARGV[1]
if ARGV[2] == 'add' then
  redis.call('HSET', P .. 't:run:' .. ARGV[3], 'trigger', ARGV[4], 'source', ARGV[5], 'inv', ARGV[6], 'at', ARGV[7])
  redis.call('ZADD', P .. 't:runs', ARGV[7], ARGV[3])
  redis.call('ZADD', P .. 't:runs:' .. ARGV[4], ARGV[7], ARGV[3])
  return 0
end
local index = P .. 't:runs'
if ARGV[3] ~= '' then index = index .. ':' .. ARGV[3] end
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', index, 0, tonumber(ARGV[4]) - 1)) do
  local r = redis.call('HMGET', P .. 't:run:' .. id, 'trigger', 'source', 'inv', 'at')
  if r[1] then
    out[#out + 1] = id
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
    out[#out + 1] = r[3]
    out[#out + 1] = r[4]
  end
end
return out
