--! uses lib
-- Take the best waiting message across queues into the consumer's in-flight hash, atomically:
-- a message is always either waiting or in flight, so a consumer dying here loses nothing.
-- KEYS: none; reads b:q:<queue>, writes b:loc and b:fly:<consumer> (built from P).
-- ARGV: 1 P, 2 consumer, queues...
-- Returns {id, queue, seq} or nil. b:loc marks the id "@<consumer>\t<seq>" while in flight.
local P, consumer = ARGV[1], ARGV[2]
local id, queue, score
if #ARGV == 3 then
  local r = redis.call('ZPOPMIN', P .. 'b:q:' .. ARGV[3])
  if not r[1] then return false end
  id, queue, score = r[1], ARGV[3], tonumber(r[2])
else
  for j = 3, #ARGV do
    local r = redis.call('ZRANGE', P .. 'b:q:' .. ARGV[j], 0, 0, 'WITHSCORES')
    if r[1] and (not score or tonumber(r[2]) < score) then id, queue, score = r[1], ARGV[j], tonumber(r[2]) end
  end
  if not id then return false end
  redis.call('ZREM', P .. 'b:q:' .. queue, id)
end
local seq = int(score % SCORE_SPAN)
redis.call('HSET', P .. 'b:fly:' .. consumer, seq, queue .. '\t' .. int(score) .. '\t' .. id)
redis.call('HSET', P .. 'b:loc', id, '@' .. consumer .. '\t' .. seq)
return {id, queue, seq}
