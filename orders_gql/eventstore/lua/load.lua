-- Everything needed to decide a command, in one round trip.
-- KEYS[1] order stream   KEYS[2] snapshot key   KEYS[3] idempotency key
-- ARGV[1] "1" to use the snapshot   ARGV[2] "1" when an idempotency key is used
-- Returns {snapshot or false, idempotency record or false, entries after the snapshot}
local snapshot = false
local from = "-"
if ARGV[1] == "1" then
  snapshot = redis.call("GET", KEYS[2])
  if snapshot then
    local version = tonumber(string.match(snapshot, '"version":(%d+)'))
    if version then from = (version + 1) .. "-0" else snapshot = false end
  end
end
local record = false
if ARGV[2] == "1" then record = redis.call("GET", KEYS[3]) end
return {snapshot, record, redis.call("XRANGE", KEYS[1], from, "+")}
