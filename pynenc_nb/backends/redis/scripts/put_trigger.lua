-- Store or replace a trigger and the conditions it uses.
-- KEYS[1] t:trig:<trigger_id>; writes t:uses:<condition_id> (built from P).
-- ARGV: P, trigger_id, task_id, definition, conditions (JSON list), condition ids...
local P, trigger = ARGV[1], ARGV[2]
local old = redis.call('HGET', KEYS[1], 'conds')
if old then
  for _, condition in ipairs(cjson.decode(old)) do redis.call('SREM', P .. 't:uses:' .. condition, trigger) end
end
redis.call('HSET', KEYS[1], 'task', ARGV[3], 'def', ARGV[4], 'conds', ARGV[5])
for j = 6, #ARGV do redis.call('SADD', P .. 't:uses:' .. ARGV[j], trigger) end
return 0
