--! uses lib
-- Move a waiting message to another priority, keeping its FIFO place within it.
-- KEYS[1] b:loc; writes b:q:<queue> (built from P). ARGV: P, id, priority. Returns 1 if it waits.
local queue = redis.call('HGET', KEYS[1], ARGV[2])
if not queue or string.sub(queue, 1, 1) == '@' then return 0 end
local key = ARGV[1] .. 'b:q:' .. queue
local score = redis.call('ZSCORE', key, ARGV[2])
if not score then return 0 end
local seq = tonumber(score) % SCORE_SPAN
redis.call('ZADD', key, 'XX', int(-tonumber(ARGV[3]) * SCORE_SPAN + seq), ARGV[2])
return 1
