-- A provider said "too many" to a call the limiter allowed: lower the share
-- of the rate in force for every caller of the key.
--
-- The calls the log holds as answered in the last period are what the
-- provider took before it refused (the caller gives the refused call back
-- first; calls still in flight may be refused too), so their share of n
-- bounds the provider's real limit: bad, the lower of it and the share in
-- force. The new share is the share in force times decrease, and at most
-- one step below bad, where recovery will stop until a probe (see
-- adapt.lua). At most one decrease a period: refusals that follow at once
-- come from calls admitted before it.
--
-- KEYS[1]  adaptive state
-- KEYS[2]  calls
-- ARGV     n, period (µs), decrease (factor), step, quiet (µs), floor,
--          probe (µs)
-- Returns  {share_ppm now in force, 1 if lowered now else 0}
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local n, period, decrease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local step, quiet, floor = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local probe = tonumber(ARGV[7])
local f, t0 = share(KEYS[1], now, step, quiet, probe)
if t0 and now - t0 < period then
  return {math.floor(f * 1000000 + 0.5), 0}
end
local seen = redis.call('ZCOUNT', KEYS[2], string.format('(%.0f', now - period), now)
local bad = math.min(f, math.max(seen, 1) / n)
local f0 = math.max(floor, math.min(f * decrease, bad - step))
redis.call('HSET', KEYS[1], 'f0', f0, 'bad', bad, 't0', now)
-- The state lives until it has climbed back to 1, when it no longer
-- differs from none.
local life = 10 * period
if step > 0 and quiet > 0 then
  local ceiling = math.max(f0, bad - step)
  life = math.ceil((ceiling - f0) / step + 1) * quiet + probe + math.ceil((1 - ceiling) / step + 1) * quiet
end
redis.call('PEXPIRE', KEYS[1], math.ceil(life / 1000))
return {math.floor(f0 * 1000000 + 0.5), 1}
