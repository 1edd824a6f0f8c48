-- trigger_id, definition pairs of the triggers using a condition.
-- KEYS[1] t:uses:<condition_id>; reads t:trig:<id> (built from P = ARGV[1]).
local out = {}
for _, trigger in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local definition = redis.call('HGET', ARGV[1] .. 't:trig:' .. trigger, 'def')
  if definition then
    out[#out + 1] = trigger
    out[#out + 1] = definition
  end
end
return out
