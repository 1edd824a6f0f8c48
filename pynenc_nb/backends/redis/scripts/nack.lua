--! uses lib
-- Give one delivered message back to its queue, in its old place. KEYS[1] b:fly:<consumer>;
-- writes b:q:<queue>, b:loc, b:wake:<queue> (built from P). ARGV: P, seq.
local entry = redis.call('HGET', KEYS[1], ARGV[2])
if not entry then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
local queue, score, id = string.match(entry, '^(.-)\t([^\t]+)\t(.*)$')
enqueue(ARGV[1], queue, id, tonumber(score))
wake(ARGV[1], queue, 1)
return 1
