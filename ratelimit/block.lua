-- Sets a cool-down, keeping the later of the one in force and the new one.
--
-- KEYS[1]  cool-down
-- ARGV[1]  duration (ms, > 0)
-- Returns  the cool-down now in force (ms)
local cur = redis.call('PTTL', KEYS[1])
local d = tonumber(ARGV[1])
if cur >= d then
  return cur
end
redis.call('SET', KEYS[1], '1', 'PX', d)
return d
