-- Store an event: on the feed (storing order) and in the record hash and the page indexes.
-- KEYS[1] t:evq (stream, entries e <event_id>), KEYS[2] t:ev (event_id -> "<stream id>\n<record>"),
--      KEYS[3] t:evs, KEYS[4] t:evs:<code> (score 0, member "<at key>|<event_id>": lex order)
-- ARGV: event_id, page member, record (JSON [event_id, code, ...], triggers.py). Returns the stream id.
local sid = redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], sid .. '\n' .. ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
return sid
