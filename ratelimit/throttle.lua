-- A provider said "too many" to a call the limiter allowed: lower the share
-- of the rate in force, multiplicatively, for every caller of the key. One
-- decrease per period in force: the refusals that follow at once were
-- caused by calls admitted before it.
--
-- KEYS[1]  adaptive state
-- ARGV     period (µs), decrease (factor), step, quiet (µs), floor, probe (µs)
-- Returns  {share_ppm now in force, 1 if lowered now else 0}
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local period, decrease = tonumber(ARGV[1]), tonumber(ARGV[2])
local step, quiet, floor = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local probe = tonumber(ARGV[6])
local f, t0 = share(KEYS[1], now, step, quiet, probe)
if t0 and now - t0 < period / f then
  return {math.floor(f * 1000000 + 0.5), 0}
end
local f0 = math.max(floor, f * decrease)
redis.call('HSET', KEYS[1], 'f0', f0, 'bad', f, 't0', now)
-- The state lives until it has climbed back to 1, when it no longer
-- differs from none.
local life = 10 * period
if step > 0 and quiet > 0 then
  local ceiling = math.max(f0, f - step)
  life = math.ceil((ceiling - f0) / step + 1) * quiet + probe + math.ceil((1 - ceiling) / step + 1) * quiet
end
redis.call('PEXPIRE', KEYS[1], math.ceil(life / 1000))
return {math.floor(f0 * 1000000 + 0.5), 1}
