-- Delete events older than a time, then all but the newest N: from the feed, the record hash and
-- both page indexes. Returns how many were deleted.
-- KEYS[1] t:evq, KEYS[2] t:ev, KEYS[3] t:evs; writes t:evs:<code> (built from P).
-- ARGV: P, older-than lex bound ('' = no age limit), keep_last ('' = no count limit)
local P = ARGV[1]
local removed = 0
local function drop(members)
  for _, member in ipairs(members) do
    local id = string.sub(member, 18)
    local value = redis.call('HGET', KEYS[2], id)
    if value then
      local newline = string.find(value, '\n', 1, true)
      redis.call('XDEL', KEYS[1], string.sub(value, 1, newline - 1))
      redis.call('ZREM', P .. 't:evs:' .. cjson.decode(string.sub(value, newline + 1))[2], member)
      redis.call('HDEL', KEYS[2], id)
    end
    redis.call('ZREM', KEYS[3], member)
    removed = removed + 1
  end
end
if ARGV[2] ~= '' then drop(redis.call('ZRANGEBYLEX', KEYS[3], '-', ARGV[2])) end
if ARGV[3] ~= '' then drop(redis.call('ZRANGE', KEYS[3], 0, -1 - tonumber(ARGV[3]))) end
return removed
