-- A task's delivery record: one key, under the task id's hash tag, that
-- holds the attempt running while a call is out and the provider's result
-- once the provider confirmed.
--
-- KEYS[1]  the record. Its value is one of
--   the result (JSON, the delivered-marker): final. The worker writes it
--     with a plain SET, not with this script: whoever owns the attempt by
--     then, the call was delivered, and every later begin must say so.
--   an attempt: "~owner retry started until held worker". owner is random,
--     one per call; retry is asynq's retry count of the attempt; started
--     and until are µs, by Redis's clock when written here, by the
--     worker's in its SET NX (see records.beginIn); held is the retry
--     count at which the job was held in doubt ("-": never); worker names
--     the process.
--     JSON never starts with "~", so the two cannot be mistaken.
-- ARGV[1]  op
--
-- begin  ARGV owner, worker, retry, lease µs, policy (resend|hold), ttl ms
--        (run when the worker's SET NX of its attempt found a record: a
--        task's first call is that SET alone, see records.beginIn)
--   {1, result}                     delivered already
--   {2, wait_us}                    another call of this task is running
--   {3, started, worker, attempt}   in doubt, held (archive it)
--   {4, started, worker, attempt}   held before, run again by an operator: go
--   {5, started, worker, attempt}   in doubt, resend: go
--   {0}                             first call: go
-- renew  ARGV owner, lease µs  -> 1 renewed, 0 not ours
-- clear  ARGV owner            -> 1 deleted (the provider answered: it did not act), 0 not ours
-- doubt  ARGV owner            -> 1 ended (no reply: the next call is in doubt at once), 0 not ours
local op = ARGV[1]
if op ~= 'begin' and op ~= 'renew' and op ~= 'clear' and op ~= 'doubt' then
  return redis.error_reply('attempt.lua: unknown op ' .. tostring(op))
end
local v = redis.call('GET', KEYS[1])
if v and string.byte(v) ~= 126 then
  if op == 'begin' then
    return {1, v}
  end
  -- Delivered: no attempt is left to renew or end.
  return 0
end

-- Only begin and renew read the clock.
local function clock()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2]
end
-- Numbers are formatted whole: Lua's own tostring would write µs since
-- 1970 with an exponent.
local function write(a, ...)
  local value = string.format('~%s %s %.0f %.0f %s %s', a.owner, a.retry, a.started, a.untl, a.held, a.worker)
  return redis.call('SET', KEYS[1], value, ...)
end

local a = {}
if v then
  local owner, retry, started, untl, held, worker = string.match(v, '^~(%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')
  a = {owner = owner, retry = retry, started = tonumber(started), untl = tonumber(untl), held = held, worker = worker}
end
local mine = v and a.owner == ARGV[2]

if op == 'begin' then
  local now = clock()
  local status = 0
  if v and not mine then
    if a.held == ARGV[4] then
      -- Held at this very retry count: archived tasks keep their count, so
      -- only an operator's "run" brings the job back here.
      status = 4
    elseif a.untl > now then
      return {2, string.format('%.0f', a.untl - now)}
    elseif ARGV[6] == 'hold' then
      a.held = ARGV[4]
      write(a, 'KEEPTTL')
      return {3, string.format('%.0f', a.started), a.worker, a.retry}
    else
      status = 5
    end
  end
  write({owner = ARGV[2], retry = ARGV[4], started = now, untl = now + tonumber(ARGV[5]), held = '-', worker = ARGV[3]}, 'PX', ARGV[7])
  if status > 0 then
    return {status, string.format('%.0f', a.started), a.worker, a.retry}
  end
  return {0}
end

if not mine then
  return 0
end
if op == 'renew' then
  a.untl = clock() + tonumber(ARGV[3])
  write(a, 'KEEPTTL')
  return 1
end
if op == 'clear' then
  redis.call('DEL', KEYS[1])
  return 1
end
-- doubt
a.untl = 0
write(a, 'KEEPTTL')
return 1
