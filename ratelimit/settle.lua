-- Marks calls answered: from now on each counts from now, the latest the
-- provider can have seen it. A call no longer in the log (given back, or
-- trimmed) is left out.
--
-- KEYS[1]  calls
-- ARGV     holders
-- Returns  how many were settled
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local add = {}
for i, id in ipairs(ARGV) do
  add[2 * i - 1] = now
  add[2 * i] = id
end
return redis.call('ZADD', KEYS[1], 'XX', 'CH', unpack(add))
