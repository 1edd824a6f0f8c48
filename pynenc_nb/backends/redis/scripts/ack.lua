-- Forget a delivered message. KEYS[1] b:fly:<consumer>, KEYS[2] b:loc.
-- ARGV: seq, id, in-flight marker "@<consumer>\t<seq>".
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 0
