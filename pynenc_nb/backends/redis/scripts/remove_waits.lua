-- Drop every waits-for edge of a waiter.
-- KEYS[1] s:waits:<waiter>; writes s:waiters:<target> (built from P = ARGV[1]). ARGV[2] waiter.
for _, target in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('SREM', ARGV[1] .. 's:waiters:' .. target, ARGV[2])
end
redis.call('DEL', KEYS[1])
return 0
