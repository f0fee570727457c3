-- KEYS[1] cool-down. Returns what is left of it in µs, 0 if none.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur and cur > now then
  return cur - now
end
return 0
