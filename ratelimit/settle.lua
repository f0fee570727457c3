-- Marks a call answered: from now on it counts from now, the latest the
-- provider can have seen it. A call no longer in the log (given back, or
-- trimmed) is left out.
--
-- KEYS[1]  calls
-- ARGV[1]  holder
-- Returns  1 settled, 0 not found
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[1])
