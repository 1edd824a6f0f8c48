--! uses lib
-- Give back every message in flight for a consumer (it died or stopped). KEYS[1] b:fly:<consumer>;
-- writes b:q:<queue>, b:loc, b:wake:<queue> (built from P). ARGV: P. Returns how many.
local entries = redis.call('HVALS', KEYS[1])
local woken = {}
for _, entry in ipairs(entries) do
  local queue, score, id = string.match(entry, '^(.-)\t([^\t]+)\t(.*)$')
  enqueue(ARGV[1], queue, id, tonumber(score))
  woken[queue] = (woken[queue] or 0) + 1
end
redis.call('DEL', KEYS[1])
for queue, count in pairs(woken) do wake(ARGV[1], queue, count) end
return #entries
