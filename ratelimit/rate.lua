-- GCRA (generic cell rate algorithm): one key holding the theoretical arrival
-- time (TAT) of the next event, in microseconds since the Unix epoch.
--
-- KEYS[1]  TAT
-- KEYS[2]  cool-down: its end time in µs (blocks until then)
-- ARGV     period (µs), rate, burst, cost
-- Returns  {status, remaining, retry_after_us, reset_after_us}
--          status 1 allowed, 0 denied, -1 cooling down
--
-- Time comes from the server's clock, never the caller's. Redis 7 replicates
-- a script's effects (the SET), not the script, so reading TIME is safe.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cool = tonumber(redis.call('GET', KEYS[2]))
if cool and cool > now then
  return {-1, 0, cool - now, 0}
end
local interval = ARGV[1] / ARGV[2]
-- burst_us: how far the TAT may run ahead of now, the room for a burst.
local burst_us = interval * ARGV[3]
local cost = tonumber(ARGV[4])

-- lag: how far the TAT runs ahead of now; 0 for an idle or missing key.
local lag = (tonumber(redis.call('GET', KEYS[1])) or now) - now
if lag < 0 then
  lag = 0
end
local new_lag = lag + interval * cost

-- The stored TAT is a float around 1.7e15 µs, good to a quarter of a
-- microsecond, so comparisons allow 1 µs of slack.
if new_lag - burst_us > 1 then
  return {0, math.max(0, math.floor((burst_us - lag + 1) / interval)), math.ceil(new_lag - burst_us), math.ceil(lag)}
end
if cost > 0 then
  redis.call('SET', KEYS[1], now + new_lag, 'PX', math.ceil(new_lag / 1000))
end
return {1, math.floor((burst_us - new_lag + 1) / interval), 0, math.ceil(new_lag)}
