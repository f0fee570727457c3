-- Sliding log: a sorted set with one member per admitted start, scored by
-- its start time in microseconds. Starts older than the period are trimmed
-- on every call, so the set's size is the number of starts in the rolling
-- window ending now.
--
-- KEYS[1]  starts
-- KEYS[2]  cool-down: its end time in µs (blocks until then)
-- ARGV     n, period (µs)
-- Returns  {status, remaining, retry_after_us, reset_after_us}
--          status 1 allowed, 0 denied, -1 cooling down
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cool = tonumber(redis.call('GET', KEYS[2]))
if cool and cool > now then
  return {-1, 0, cool - now, 0}
end
local n = tonumber(ARGV[1])
local period = tonumber(ARGV[2])

-- A start at s counts while now - s < period.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local count = redis.call('ZCARD', KEYS[1])

if count < n then
  -- Members must be unique per start: two starts in the same microsecond
  -- get a sequence suffix.
  local member = t[1] .. string.format('%06d', t[2])
  local m, seq = member, 0
  while redis.call('ZADD', KEYS[1], 'NX', now, m) == 0 do
    seq = seq + 1
    m = member .. '-' .. seq
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(period / 1000))
  return {1, n - count - 1, 0, period}
end

-- Full: room appears when the (count-n+1)-th oldest start leaves the window.
local oldest = redis.call('ZRANGE', KEYS[1], count - n, count - n, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {0, 0, oldest[2] + period - now, newest[2] + period - now}
