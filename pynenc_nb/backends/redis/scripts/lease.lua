-- Take, renew or release a lease held by one holder until it expires, on the server's clock:
-- holders whose clocks disagree never see a lease expire early, so two never hold it at once.
-- KEYS[1] s:lease:<name> (hash holder, expires).
-- ARGV: 'acquire', holder, ttl seconds -> 1 if held by holder afterwards, else 0
--       'release', holder              -> 1 if it was released
local current = redis.call('HMGET', KEYS[1], 'holder', 'expires')
if ARGV[1] == 'release' then
  if current[1] == ARGV[2] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
if not current[1] or current[1] == ARGV[2] or tonumber(current[2]) <= now then
  redis.call('HSET', KEYS[1], 'holder', ARGV[2], 'expires', tostring(now + tonumber(ARGV[3])))
  return 1
end
return 0
