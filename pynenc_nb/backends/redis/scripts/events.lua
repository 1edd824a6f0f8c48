-- Store an event, or list events newest first (ties by id descending).
-- KEYS: none; t:ev:<id>, t:evs and t:evs:<code> (built from P).
-- ARGV: P, 'add', event_id, code, payload, at    -> 0
--       P, 'list', code ('' = any), since ('-inf' = any), limit -> {id, code, payload, at, ...}
local P = ARGV[1]
if ARGV[2] == 'add' then
  redis.call('HSET', P .. 't:ev:' .. ARGV[3], 'code', ARGV[4], 'payload', ARGV[5], 'at', ARGV[6])
  redis.call('ZADD', P .. 't:evs', ARGV[6], ARGV[3])
  redis.call('ZADD', P .. 't:evs:' .. ARGV[4], ARGV[6], ARGV[3])
  return 0
end
local index = P .. 't:evs'
if ARGV[3] ~= '' then index = index .. ':' .. ARGV[3] end
local out = {}
for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', index, '+inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))) do
  local e = redis.call('HMGET', P .. 't:ev:' .. id, 'code', 'payload', 'at')
  if e[1] then
    out[#out + 1] = id
    out[#out + 1] = e[1]
    out[#out + 1] = e[2]
    out[#out + 1] = e[3]
  end
end
return out
