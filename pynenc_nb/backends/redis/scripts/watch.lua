-- Which of the given invocations are final; a process's inbox is attached to each of the others,
-- in the same step, so that its becoming final is pushed there (announce_final in lib.lua).
-- KEYS: none; reads s:inv:<id>, writes s:watchers:<id> and the 'watched' flag (built from P).
-- ARGV: 1 P, 2 inbox token, 3 n_final, final statuses..., ids...
-- Returns the final ids (missing ones are neither final nor watched).
local P, token = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local final = {}
for j = 4, 3 + n do final[ARGV[j]] = true end
local out = {}
for j = 4 + n, #ARGV do
  local id = ARGV[j]
  local inv = P .. 's:inv:' .. id
  local status = redis.call('HGET', inv, 'status')
  if status then
    if final[status] then
      out[#out + 1] = id
    else
      redis.call('SADD', P .. 's:watchers:' .. id, token)
      redis.call('HSET', inv, 'watched', '1')
    end
  end
end
return out
