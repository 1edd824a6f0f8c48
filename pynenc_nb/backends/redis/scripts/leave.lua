--! uses lib
-- A worker takes no more (its runner stops, or it retires): it leaves the idle set of its queue and
-- gets back the ids of the invocations handed to it that it never took, started for it, for its
-- runner to give back. Its b:took entry goes too.
-- ARGV: P, worker, its idle-set member ('' = none), its queue, the runner id, lost ('1' when the
-- reply of its last pop may have been lost: the invocation b:took names as handed counts too).
local P, worker, member, queue, runner, lost = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if member ~= '' then redis.call('ZREM', P .. 'b:idle:' .. queue, member) end
local hand = P .. 'b:hand:' .. worker
local ids = {}
for _, item in ipairs(redis.call('LRANGE', hand, 0, -1)) do
  if item ~= HAND_MARK then ids[#ids + 1] = cjson.decode(item)[1] end
end
redis.call('DEL', hand)
local took = redis.call('HGET', P .. 'b:took', worker)
if lost == '1' and took then
  local id = string.match(took, '^h\t(.*)$')
  local cur = id and load(P, id)
  if cur and cur.owner == runner and cur.status == 'RUNNING' then ids[#ids + 1] = id end
end
redis.call('HDEL', P .. 'b:took', worker)
local mine = {}
for _, id in ipairs(ids) do
  local cur = load(P, id)
  if cur and cur.owner == runner and cur.status == 'RUNNING' then mine[#mine + 1] = id end
end
return mine
