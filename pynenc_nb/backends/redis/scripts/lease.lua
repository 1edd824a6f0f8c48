-- Take, renew or release a lease held by one holder until it expires (caller's clock).
-- KEYS[1] s:lease:<name> (hash holder, expires).
-- ARGV: 'acquire', holder, now, expires -> 1 if held by holder afterwards, else 0
--       'release', holder               -> 1 if it was released
local current = redis.call('HMGET', KEYS[1], 'holder', 'expires')
if ARGV[1] == 'release' then
  if current[1] == ARGV[2] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
if not current[1] or current[1] == ARGV[2] or tonumber(current[2]) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'holder', ARGV[2], 'expires', ARGV[4])
  return 1
end
return 0
