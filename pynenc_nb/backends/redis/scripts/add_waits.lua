--! uses lib
-- The edges from a waiter to its targets, unless one would close a cycle (add_waits in lib.lua).
-- KEYS: none (built from P). ARGV: 1 P, 2 waiter, targets...
-- Returns the cycle {waiter, ..., waiter} (nothing stored), or nil once the edges are stored.
local targets = {}
for j = 3, #ARGV do targets[#targets + 1] = ARGV[j] end
return add_waits(ARGV[1], ARGV[2], targets)
