-- Every registered runner.
-- KEYS[1] s:runners (set of runner ids); reads s:runner:<id> (built from P = ARGV[1]).
-- Returns the HGETALL of each runner.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. 's:runner:' .. id)
  if #h > 0 then out[#out + 1] = h end
end
return out
