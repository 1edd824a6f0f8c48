-- The newest invocation of one call (by created_at) whose status is one of ARGV[2..].
-- KEYS[1] s:ix:call:<task>|<call>; reads s:inv:<id> (built from P = ARGV[1]).
-- Returns its HGETALL, or nil.
local P = ARGV[1]
local wanted = {}
for j = 2, #ARGV do wanted[ARGV[j]] = true end
local offset = 0
while true do
  local ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + 99)
  for _, id in ipairs(ids) do
    local status = redis.call('HGET', P .. 's:inv:' .. id, 'status')
    if status and wanted[status] then return redis.call('HGETALL', P .. 's:inv:' .. id) end
  end
  if #ids < 100 then return false end
  offset = offset + 100
end
