-- A runner's heartbeat: time, load and state, only for a runner that registered.
-- KEYS[1] s:runner:<runner_id>. ARGV: at, busy, state.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'hb', ARGV[1], 'busy', ARGV[2], 'state', ARGV[3])
end
return 0
