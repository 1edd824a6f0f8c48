--! uses lib
-- The newest runs of some run indexes (t:runs or its t:runs:trig|src|inv:<id> parts), with records.
-- KEYS: the indexes, then t:run last. ARGV: how many per index (-1 = all).
-- Returns {run_id, record, ...}, each run once (the caller filters, orders and cuts).
local records, last = KEYS[#KEYS], tonumber(ARGV[1]) - 1
if last < -1 then last = -1 end
local ids, seen = {}, {}
for k = 1, #KEYS - 1 do
  for _, id in ipairs(redis.call('ZREVRANGE', KEYS[k], 0, last)) do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
end
if #ids == 0 then return {} end
local out = {}
for k, value in ipairs(hash_values(records, ids)) do
  if value then
    out[#out + 1] = ids[k]
    out[#out + 1] = value
  end
end
return out
