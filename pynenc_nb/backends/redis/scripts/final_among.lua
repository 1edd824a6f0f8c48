-- Which of the given invocations are in a final status.
-- KEYS: none; reads s:inv:<id> (built from P).
-- ARGV: 1 P, 2 n_final, final statuses..., ids...
-- Returns the final ids.
local P = ARGV[1]
local n = tonumber(ARGV[2])
local final = {}
for j = 3, 2 + n do final[ARGV[j]] = true end
local out = {}
for j = 3 + n, #ARGV do
  local status = redis.call('HGET', P .. 's:inv:' .. ARGV[j], 'status')
  if status and final[status] then out[#out + 1] = ARGV[j] end
end
return out
