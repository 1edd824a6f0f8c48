-- Shared helpers, prepended to the scripts that say "--! uses lib".
-- P is the app prefix "pynenc:{<app_id>}:"; every key below is built from it (layout: keys.py).
-- Numbers computed in Lua are formatted explicitly: Lua's own conversion keeps only 14 digits.

local SCORE_SPAN = 1099511627776  -- 2^40: queue score = -priority * 2^40 + seq
local WAKE_CAP = 128              -- wake-up tokens kept per queue

local function present(value)
  return value and value ~= ''
end

local function int(value)
  return string.format('%.0f', value)
end

-- Broker: put id in a queue with a score; an id already waiting keeps its better (lower) score.
local function enqueue(P, queue, id, score)
  redis.call('ZADD', P .. 'b:q:' .. queue, 'LT', int(score), id)
  redis.call('HSET', P .. 'b:loc', id, queue)
end

-- Broker: one token per message for consumers blocked in BLPOP on the queue's wake list.
local function wake(P, queue, count)
  local key = P .. 'b:wake:' .. queue
  local tokens = {}
  for k = 1, math.min(count, WAKE_CAP) do tokens[k] = '1' end
  if redis.call('LPUSH', key, unpack(tokens)) > WAKE_CAP then
    redis.call('LTRIM', key, 0, WAKE_CAP - 1)
  end
  redis.call('SADD', P .. 'b:queues', queue)
end

-- Byte order, as zsets order members of equal score (string comparison in Lua follows the locale).
local function after(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = a:byte(k), b:byte(k)
    if x ~= y then return x > y end
  end
  return #a > #b
end
