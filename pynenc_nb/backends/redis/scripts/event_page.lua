--! uses lib
-- A page of events, newest first: members of a page index between two lex bounds.
-- KEYS[1] t:evs or t:evs:<code>, KEYS[2] t:ev. ARGV: max bound, min bound, count.
-- Returns the record values, in page order.
local members = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
if #members == 0 then return {} end
local ids = {}
for k, member in ipairs(members) do ids[k] = string.sub(member, 18) end  -- past "<16 hex digits>|"
local out = {}
for _, value in ipairs(hash_values(KEYS[2], ids)) do
  if value then out[#out + 1] = value end
end
return out
