-- Replace, for each task, every trigger of the task by the given ones (none: the task has none left).
-- KEYS[1] t:trig (trigger_id -> JSON [task_id, definition]); writes t:task:<task_id> (built from P).
-- ARGV: P, then per task: task_id, n, then n pairs trigger_id, JSON [task_id, definition].
local P, triggers = ARGV[1], KEYS[1]
local i = 2
while i <= #ARGV do
  local task, n = ARGV[i], tonumber(ARGV[i + 1])
  local members = P .. 't:task:' .. task
  for _, trigger in ipairs(redis.call('SMEMBERS', members)) do
    local stored = redis.call('HGET', triggers, trigger)
    -- a trigger id since redefined by another task is that task's now
    if stored and cjson.decode(stored)[1] == task then redis.call('HDEL', triggers, trigger) end
  end
  redis.call('DEL', members)
  for j = i + 2, i + 2 * n, 2 do
    redis.call('HSET', triggers, ARGV[j], ARGV[j + 1])
    redis.call('SADD', members, ARGV[j])
  end
  i = i + 2 + 2 * n
end
return 0
