-- KEYS[1] holders; ARGV[1] holder id. Redis drops the set with its last member.
return redis.call('ZREM', KEYS[1], ARGV[1])
