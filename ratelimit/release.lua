-- KEYS[1] holders; ARGV holder ids. Redis drops the set with its last member.
return redis.call('ZREM', KEYS[1], unpack(ARGV))
