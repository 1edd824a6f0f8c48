-- Record that a waiter waits on targets, unless an edge would close a cycle in the waits-for
-- graph: the search and the insert are one step, so two mutual waits can never both succeed.
-- KEYS: none; reads s:waits:<node>, writes s:waits:<waiter> and s:waiters:<target> (built from P).
-- ARGV: 1 P, 2 waiter, targets...
-- Returns the cycle {waiter, ..., waiter} (nothing stored), or nil once the edges are stored.
local P, waiter = ARGV[1], ARGV[2]
local parents, frontier = {}, {}
for j = 3, #ARGV do
  local target = ARGV[j]
  if target == waiter then return {waiter, waiter} end
  if not parents[target] then
    parents[target] = waiter
    frontier[#frontier + 1] = target
  end
end
while #frontier > 0 do
  local node = table.remove(frontier)
  for _, nxt in ipairs(redis.call('SMEMBERS', P .. 's:waits:' .. node)) do
    if nxt == waiter then
      local path = {node}
      while path[#path] ~= waiter do path[#path + 1] = parents[path[#path]] end
      local cycle = {waiter}
      for k = #path - 1, 1, -1 do cycle[#cycle + 1] = path[k] end
      cycle[#cycle + 1] = waiter
      return cycle
    end
    if not parents[nxt] then
      parents[nxt] = node
      frontier[#frontier + 1] = nxt
    end
  end
end
for j = 3, #ARGV do
  redis.call('SADD', P .. 's:waits:' .. waiter, ARGV[j])
  redis.call('SADD', P .. 's:waiters:' .. ARGV[j], waiter)
end
return false
