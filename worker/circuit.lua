-- A circuit breaker shared by every replica: one hash per account.
--
-- KEYS[1]  circuit: state (closed|open), fails (consecutive transient
--          failures), opened (µs), probe (µs: when the next probe may go)
-- ARGV     op, failures (threshold), probe interval (µs)
--   check    before a call. Returns {0} closed: go; {1} open and this
--            caller is the probe: go; {2, wait_us} open: wait.
--   fail     a call failed as transient. Returns {state, changed}.
--   ok       the provider answered. Returns {state, changed}.
-- state is 0 closed, 1 open; changed is 1 when this call moved it.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local op = ARGV[1]
local state = redis.call('HGET', KEYS[1], 'state')
local probe = tonumber(ARGV[3])

if op == 'check' then
  if state ~= 'open' then
    return {0}
  end
  local next = tonumber(redis.call('HGET', KEYS[1], 'probe')) or 0
  if now >= next then
    -- One caller per interval gets through as the probe.
    redis.call('HSET', KEYS[1], 'probe', now + probe)
    return {1}
  end
  return {2, next - now}
end

if op == 'ok' then
  if state == 'open' then
    redis.call('DEL', KEYS[1])
    return {0, 1}
  end
  redis.call('HDEL', KEYS[1], 'fails')
  return {0, 0}
end

-- fail
if state == 'open' then
  redis.call('HSET', KEYS[1], 'probe', now + probe)
  return {1, 0}
end
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
-- Forget a streak nobody has added to for a while.
redis.call('PEXPIRE', KEYS[1], math.ceil(probe * 10 / 1000))
if fails >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened', now, 'probe', now + probe)
  redis.call('PERSIST', KEYS[1])
  return {1, 1}
end
return {0, 0}
