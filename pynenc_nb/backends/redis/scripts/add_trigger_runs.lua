-- Store trigger runs not stored yet: HSETNX on the run id is the claim of its occurrence.
-- KEYS[1] t:run (run_id -> JSON record), KEYS[2] t:runs; writes t:runs:trig:<trigger_id>,
--      t:runs:src:<source_id>, t:runs:inv:<invocation_id> (built from P), all scored by at.
-- ARGV: P, then per run: run_id, trigger_id, source_id, invocation_id ('' = none), at, record.
-- Returns 1 for each run this call stored, else 0.
local P = ARGV[1]
local out = {}
for i = 2, #ARGV, 6 do
  local id, at = ARGV[i], ARGV[i + 4]
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 5]) == 1 then
    redis.call('ZADD', KEYS[2], at, id)
    redis.call('ZADD', P .. 't:runs:trig:' .. ARGV[i + 1], at, id)
    redis.call('ZADD', P .. 't:runs:src:' .. ARGV[i + 2], at, id)
    if ARGV[i + 3] ~= '' then redis.call('ZADD', P .. 't:runs:inv:' .. ARGV[i + 3], at, id) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
