-- Leases: a sorted set of holder id -> lease expiry in microseconds. Expired
-- leases are purged on every call, so a holder that crashed stops counting
-- once its lease runs out.
--
-- KEYS[1]  holders
-- KEYS[2]  cool-down: its end time in µs (blocks until then)
-- ARGV     limit, holder id, lease (µs)
-- Returns  {status, remaining, retry_after_us, reset_after_us}
--          status 1 allowed, 0 denied, -1 cooling down
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cool = tonumber(redis.call('GET', KEYS[2]))
if cool and cool > now then
  return {-1, 0, cool - now, 0}
end
local limit = tonumber(ARGV[1])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
local held = redis.call('ZSCORE', KEYS[1], ARGV[2])

if held or count < limit then
  -- A holder acquiring again keeps its one slot with a fresh lease.
  redis.call('ZADD', KEYS[1], now + ARGV[3], ARGV[2])
  if not held then
    count = count + 1
  end
  -- The set lives as long as its longest lease.
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] - now
  redis.call('PEXPIRE', KEYS[1], math.ceil(last / 1000))
  return {1, math.max(0, limit - count), 0, last}
end

-- Full: a slot frees when the (count-limit+1)-th earliest lease runs out.
local first = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {0, 0, first[2] - now, last[2] - now}
