--! uses lib
-- Take the best waiting message across queues into the consumer's in-flight hash, atomically:
-- a message is always either waiting or in flight, so a consumer dying here loses nothing.
-- KEYS: none; reads b:q:<queue>, writes b:loc and b:fly:<consumer> (built from P).
-- ARGV: 1 P, 2 consumer, queues...
-- Returns {id, queue, seq} or nil. b:loc marks the id "@<consumer>\t<seq>" while in flight.
local P, consumer = ARGV[1], ARGV[2]
local id, queue, score = pop_best(P, 3)
if not id then return false end
local seq = int(score % SCORE_SPAN)
redis.call('HSET', P .. 'b:fly:' .. consumer, seq, queue .. '\t' .. int(score) .. '\t' .. id)
redis.call('HSET', P .. 'b:loc', id, '@' .. consumer .. '\t' .. seq)
return {id, queue, seq}
