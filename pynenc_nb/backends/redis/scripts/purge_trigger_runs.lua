-- Delete runs older than a time, then all but the newest N, with their index entries.
-- KEYS[1] t:run, KEYS[2] t:runs; writes t:runs:trig|src|inv:<id> (built from P).
-- ARGV: P, older_than ('' = no age limit), keep_last ('' = no count limit). Returns how many.
local P = ARGV[1]
local removed = 0
local function drop(ids)
  for _, id in ipairs(ids) do
    local value = redis.call('HGET', KEYS[1], id)
    if value then
      local run = cjson.decode(value)  -- [trigger_id, task_id, source_kind, source_id, invocation_id, at]
      redis.call('ZREM', P .. 't:runs:trig:' .. run[1], id)
      redis.call('ZREM', P .. 't:runs:src:' .. run[4], id)
      if type(run[5]) == 'string' then redis.call('ZREM', P .. 't:runs:inv:' .. run[5], id) end
      redis.call('HDEL', KEYS[1], id)
    end
    redis.call('ZREM', KEYS[2], id)
    removed = removed + 1
  end
end
if ARGV[2] ~= '' then drop(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])) end
if ARGV[3] ~= '' then drop(redis.call('ZRANGE', KEYS[2], 0, -1 - tonumber(ARGV[3]))) end
return removed
