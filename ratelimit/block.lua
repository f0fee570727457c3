-- Sets a cool-down, keeping the later of the one in force and the new one.
-- The value is the cool-down's end in µs on the server's clock; the limiter
-- scripts compare it with TIME. The key's expiry only cleans up: it never
-- fires before the end, and the value alone decides (so a Redis whose TTLs
-- do not run down on their own, like the embedded one in demo mode, still
-- lifts the cool-down on time).
--
-- KEYS[1]  cool-down
-- ARGV[1]  duration (µs, > 0)
-- Returns  the cool-down now in force (µs)
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local d = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur and cur - now >= d then
  return cur - now
end
redis.call('SET', KEYS[1], now + d, 'PX', math.ceil(d / 1000))
return d
