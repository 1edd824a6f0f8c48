--! uses lib
-- Queue invocation ids: higher priority first, then FIFO (score = -priority * 2^40 + seq). An id
-- already waiting is not queued twice; it keeps the better of its two places.
-- KEYS: none; writes b:seq, b:q:<queue>, b:loc, b:wake:<queue>, b:queues (built from P).
-- ARGV: 1 P, then (queue, id, priority) triples.
local P = ARGV[1]
local n = (#ARGV - 1) / 3
local seq = redis.call('INCRBY', P .. 'b:seq', n) - n
local sent = {}
for j = 2, #ARGV, 3 do
  seq = seq + 1
  local queue = ARGV[j]
  enqueue(P, queue, ARGV[j + 1], queue_score(ARGV[j + 2], seq))
  sent[queue] = (sent[queue] or 0) + 1
end
for queue, count in pairs(sent) do wake(P, queue, count) end
return n
