-- Delete events older than a time and/or beyond the newest N. Returns how many were deleted.
-- KEYS: none; t:ev:<id>, t:evs and t:evs:<code> (built from P).
-- ARGV: P, older_than ('' = no age limit), keep_last ('' = no count limit)
local P = ARGV[1]
local index = P .. 't:evs'
local removed = 0
local function drop(ids)
  for _, id in ipairs(ids) do
    local code = redis.call('HGET', P .. 't:ev:' .. id, 'code')
    if code then redis.call('ZREM', P .. 't:evs:' .. code, id) end
    redis.call('DEL', P .. 't:ev:' .. id)
    redis.call('ZREM', index, id)
    removed = removed + 1
  end
end
if ARGV[2] ~= '' then drop(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. ARGV[2])) end
if ARGV[3] ~= '' then drop(redis.call('ZREVRANGE', index, tonumber(ARGV[3]), -1)) end
return removed
