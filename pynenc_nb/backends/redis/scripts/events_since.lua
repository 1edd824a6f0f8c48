--! uses lib
-- The events stored after a feed cursor, oldest first.
-- KEYS[1] t:evq, KEYS[2] t:ev. ARGV: start ('-' for the oldest kept, else '(' .. stream id), count.
-- Returns {stream id of the last entry read ('' = none), record values...}.
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
if #entries == 0 then return {''} end
local ids = {}
for k, entry in ipairs(entries) do ids[k] = entry[2][2] end
local out = {entries[#entries][1]}
for _, value in ipairs(hash_values(KEYS[2], ids)) do
  if value then out[#out + 1] = value end
end
return out
