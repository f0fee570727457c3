-- Renews a live lease; a lease that already ran out is not revived, since
-- its slot may have gone to someone else.
--
-- KEYS[1]  holders
-- ARGV     holder id, lease (µs)
-- Returns  1 renewed, 0 not held
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] - now
redis.call('PEXPIRE', KEYS[1], math.ceil(last / 1000))
return 1
