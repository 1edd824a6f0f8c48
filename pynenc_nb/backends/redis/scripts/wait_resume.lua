--! uses lib
-- The writes that end a worker's wait, as one step: the endings of targets it ran in its own
-- thread (final transitions, as take_start.lua stores a runner's endings), the waiter's waits-for
-- edges dropped (remove_waits), and the waiter back to RUNNING (exclusive on its running key: a
-- refusal leaves it PAUSED, for the caller to retry with plain transitions). Every step is a
-- compare-and-set or idempotent, so a resend after a lost reply answers as the first run did.
-- ARGV: 1 P, 2 waiter, 3 want the waiter's static fields ('1'/'0'), 4..14 the resume
--       (request_at), 15 the inbox token of the storing process, which tells its own waiters of
--       the endings itself (storing_process in lib.lua), 16 the number e of endings, then per
--       ending: its id, want its static fields, the number of request arguments that follow (11,
--       or 14 with an outcome), the request.
-- Returns {endings, resume result, its mutable values, static or false}, resume result 'missing'
-- when there is no such waiter; endings holds per ending false (missing) or {result, mutable
-- values, static or false}.
local P, waiter = ARGV[1], ARGV[2]
storing_process(ARGV[15])
local endings = {}
local at = 17
for k = 1, tonumber(ARGV[16]) do
  local id, want, count = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  local result, values = transition(P, id, request_at(at + 3, count > 11))
  if result == 'missing' then
    endings[k] = false
  else
    local static = false
    if want == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. id) end
    endings[k] = {result, values, static}
  end
  at = at + 3 + count
end
remove_waits(P, waiter)
local resumed, values = transition(P, waiter, request_at(4, false))
log_changes(P)
if resumed == 'missing' then return {endings, 'missing', false, false} end
local static = false
if ARGV[3] == '1' then static = redis.call('HGETALL', P .. 's:inv:' .. waiter) end
return {endings, resumed, values, static}
