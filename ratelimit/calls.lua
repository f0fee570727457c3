-- Calls: a sliding log, one member per call, scored by the latest time the
-- provider can have seen it: while the call is unanswered, the end of its
-- time in flight; once answered, the answer's time (settle.lua). A call
-- counts while now - score < period, so n calls never reach the provider
-- within one period whatever the delay between permit and arrival.
--
-- KEYS[1]  calls
-- KEYS[2]  cool-down: its end time in µs (blocks until then)
-- KEYS[3]  adaptive state (see adapt.lua)
-- ARGV     n, period (µs), burst, holder, in flight (µs), step, quiet (µs),
--          floor, probe (µs), want
-- Returns  {status, remaining, retry_after_us, reset_after_us, share_ppm,
--          granted}; status 1 allowed, 0 denied, -1 cooling down
--
-- want > 1 asks for a block of calls at once (holders "<holder>.1" to
-- "<holder>.<granted>"); as many are granted as the limit has room for,
-- at least one when allowed.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cool = tonumber(redis.call('GET', KEYS[2]))
if cool and cool > now then
  return {-1, 0, cool - now, 0, 0, 0}
end
local n, base, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local inflight, floor = tonumber(ARGV[5]), tonumber(ARGV[8])
-- A share f of n per period lets floor(f*n) calls through per period, as a
-- provider counting calls per period would; below one call, the one call
-- gets a longer period.
local f = share(KEYS[3], now, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[9]))
local period = base
if f < 1 then
  local x = f * n
  if x >= 1 then
    n = math.floor(x + 1e-9)
  else
    n, period = 1, base / x
  end
end
local ppm = math.floor(n * base / (period * tonumber(ARGV[1])) * 1000000 + 0.5)

-- Trim only what no share down to the floor would count, so a decrease
-- finds the calls its longer period needs.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - base / math.min(1, floor * tonumber(ARGV[1])))

-- since(w): the exclusive lower score bound of a window of w ending now.
-- Formatted by hand: Lua's own number-to-string keeps 14 digits, too few for
-- microseconds since 1970.
local function since(w)
  return string.format('(%.0f', now - w)
end

-- wait: the time until the oldest call that keeps count at limit leaves a
-- window of w, assuming a call still in flight is answered now.
local function wait(w, limit, count)
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], since(w), '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
  return math.ceil(math.min(tonumber(e[2]), now) + w - now)
end
local count = redis.call('ZCOUNT', KEYS[1], since(period), '+inf')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local reset = 0
if newest[2] then
  reset = math.max(0, math.ceil(tonumber(newest[2]) + period - now))
end
if count >= n then
  return {0, 0, wait(period, n, count), reset, ppm, 0}
end
local want = tonumber(ARGV[10]) or 1
local granted = math.min(want, n - count)
if burst < n then
  local sub = period * burst / n
  local c = redis.call('ZCOUNT', KEYS[1], since(sub), '+inf')
  if c >= burst then
    return {0, 0, wait(sub, burst, c), reset, ppm, 0}
  end
  granted = math.min(granted, burst - c)
end
if want == 1 then
  redis.call('ZADD', KEYS[1], now + inflight, ARGV[4])
else
  local add = {}
  for i = 1, granted do
    add[2 * i - 1] = now + inflight
    add[2 * i] = ARGV[4] .. '.' .. i
  end
  redis.call('ZADD', KEYS[1], unpack(add))
end
redis.call('PEXPIRE', KEYS[1], math.ceil((inflight + base / math.min(1, floor * tonumber(ARGV[1]))) / 1000))
return {1, n - count - granted, 0, math.max(reset, math.ceil(inflight + period)), ppm, granted}
