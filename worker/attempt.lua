-- A task's delivery record: its delivered-marker and its attempt record,
-- under one hash tag (the task id) so one script reads and writes both.
--
-- KEYS[1]  delivered-marker: the provider's result, once it confirmed
-- KEYS[2]  attempt record (hash): owner (random, one per call), worker,
--          attempt (asynq retry count), started and until (µs), held
--          (the retry count at which the job was held in doubt)
-- ARGV[1]  op
--
-- begin  ARGV owner, worker, retry, lease µs, policy (resend|hold), ttl ms
--   {1, result}                     delivered already
--   {2, wait_us}                    another call of this task is running
--   {3, started, worker, attempt}   in doubt, held (archive it)
--   {4, started, worker, attempt}   held before, run again by an operator: go
--   {5, started, worker, attempt}   in doubt, resend: go
--   {0}                             first call: go
-- renew  ARGV owner, lease µs       -> 1 renewed, 0 not ours
-- done   ARGV owner, result, ttl ms -> 1 (the marker is written whoever owns the attempt)
-- clear  ARGV owner                 -> 1 cleared (the provider answered: it did not act)
-- doubt  ARGV owner                 -> 1 (no reply: the next call is in doubt at once)
local op = ARGV[1]
-- Only begin and renew read the clock; a job's done goes without.
local function clock()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2]
end

if op == 'begin' then
  local res = redis.call('GET', KEYS[1])
  if res then
    return {1, res}
  end
  local now = clock()
  local a = redis.call('HMGET', KEYS[2], 'owner', 'until', 'held', 'started', 'worker', 'attempt')
  local status = 0
  if a[1] and a[1] ~= ARGV[2] then
    if a[3] == ARGV[4] then
      -- Held at this very retry count: archived tasks keep their count, so
      -- only an operator's "run" brings the job back here.
      status = 4
    elseif tonumber(a[2]) > now then
      return {2, tostring(tonumber(a[2]) - now)}
    elseif ARGV[6] == 'hold' then
      redis.call('HSET', KEYS[2], 'held', ARGV[4])
      return {3, a[4], a[5], a[6]}
    else
      status = 5
    end
  end
  if a[1] or a[3] then
    -- An earlier record's other fields (held) must not carry over.
    redis.call('DEL', KEYS[2])
  end
  redis.call('HSET', KEYS[2], 'owner', ARGV[2], 'worker', ARGV[3], 'attempt', ARGV[4],
    'started', now, 'until', now + tonumber(ARGV[5]))
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
  if status > 0 then
    return {status, a[4], a[5], a[6]}
  end
  return {0}
end

local mine = redis.call('HGET', KEYS[2], 'owner') == ARGV[2]
if op == 'renew' then
  if not mine then
    return 0
  end
  redis.call('HSET', KEYS[2], 'until', clock() + tonumber(ARGV[3]))
  return 1
end
if op == 'done' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  if mine then
    redis.call('DEL', KEYS[2])
  end
  return 1
end
if op == 'clear' then
  if mine then
    redis.call('DEL', KEYS[2])
  end
  return 1
end
if op == 'doubt' then
  if mine then
    redis.call('HSET', KEYS[2], 'until', 0)
  end
  return 1
end
return redis.error_reply('attempt.lua: unknown op ' .. op)
