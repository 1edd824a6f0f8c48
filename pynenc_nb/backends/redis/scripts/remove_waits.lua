--! uses lib
-- Drop every waits-for edge of a waiter (remove_waits in lib.lua). ARGV: 1 P, 2 waiter.
remove_waits(ARGV[1], ARGV[2])
return 0
