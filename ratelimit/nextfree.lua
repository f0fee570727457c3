-- KEYS[1] holders. Returns µs until the earliest live lease runs out, 0 if
-- none.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then
  return math.ceil(tonumber(first[2]) - now)
end
return 0
