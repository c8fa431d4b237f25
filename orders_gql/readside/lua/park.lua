-- Park a log entry as a dead letter, block its order behind it (unless it is
-- blocked already), remember the parked position, acknowledge the entry.
-- With ARGV[4] == "1" only while the order is blocked: a retry may have
-- unblocked it since the caller looked, and then the entry is applied instead.
-- KEYS: dead stream, blocked hash, parked hash, log, attempts hash
-- ARGV: group, position, order id, only-if-blocked, letter field/value pairs...
if ARGV[4] == "1" and redis.call("HEXISTS", KEYS[2], ARGV[3]) == 0 then
  return 0
end
redis.call("XADD", KEYS[1], "*", unpack(ARGV, 5))
redis.call("HSETNX", KEYS[2], ARGV[3], ARGV[2])
redis.call("HSET", KEYS[3], ARGV[2], ARGV[3])
redis.call("XACK", KEYS[4], ARGV[1], ARGV[2])
redis.call("HDEL", KEYS[5], ARGV[2])
return 1
