-- Shared by calls.lua and throttle.lua (prepended to each): the share of a
-- limit's rate in force after adaptive decreases, reckoned lazily from the
-- state the last decrease left, so nothing has to run while it recovers.
--
-- Returns the share, and the state's t0 and bad (nil without state).
-- State (a hash): f0, the share set by the last decrease; bad, the share in
-- force when the provider last said "too many"; t0, when (µs).
-- Recovery: +step every quiet period, up to one step below bad; it stays
-- there for a probe period, since that is where the provider refused last;
-- if no refusal comes, the provider's limit has gone back up, and it climbs
-- on, +step every quiet period, never above 1.
local function share(key, now, step, quiet, probe)
  local s = redis.call('HMGET', key, 'f0', 'bad', 't0')
  local f0, bad, t0 = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
  if not f0 or step <= 0 or quiet <= 0 then
    return f0 or 1, t0, bad
  end
  local ceiling = math.max(f0, bad - step)
  local fast = math.ceil((ceiling - f0) / step - 1e-9)
  local k = math.floor((now - t0) / quiet)
  if k < fast then
    return f0 + k * step, t0, bad
  end
  local since = now - t0 - fast * quiet - probe
  if since < 0 then
    return ceiling, t0, bad
  end
  return math.min(1, ceiling + step * (math.floor(since / quiet) + 1)), t0, bad
end
