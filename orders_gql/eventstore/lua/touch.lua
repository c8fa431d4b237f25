-- Write a key again, unchanged, so that a WAIT after this call covers the
-- command that first wrote it.   KEYS[1] the key (an idempotency record)
local value = redis.call("GET", KEYS[1])
if value then redis.call("SET", KEYS[1], value, "KEEPTTL") end
return value and 1 or 0
