-- Atomic append of one command's events.
-- KEYS[1] order stream   KEYS[2] partition log   KEYS[3] idempotency key   KEYS[4] snapshot key
-- ARGV[1] expected version   ARGV[2] "1" when an idempotency key is used
-- ARGV[3] idempotency TTL in seconds (0: keep)   ARGV[4] request fingerprint
-- ARGV[5] snapshot JSON or ""   ARGV[6..] the events as JSON, in version order
-- Returns {"ok", new_version, pos...} | {"conflict", current} | {"duplicate", record}
if ARGV[2] == "1" then
  local prior = redis.call("GET", KEYS[3])
  if prior then return {"duplicate", prior} end
end
local current = 0
local last = redis.call("XREVRANGE", KEYS[1], "+", "-", "COUNT", 1)
if #last > 0 then current = tonumber(string.match(last[1][1], "^(%d+)")) end
local expected = tonumber(ARGV[1])
if current ~= expected then return {"conflict", current} end
local reply = {"ok", expected + #ARGV - 5}
local pos = ""
for i = 6, #ARGV do
  pos = redis.call("XADD", KEYS[2], "*", "e", ARGV[i])
  redis.call("XADD", KEYS[1], (expected + i - 5) .. "-0", "e", ARGV[i], "p", pos)
  reply[#reply + 1] = pos
end
if ARGV[2] == "1" then
  local record = cjson.encode({v = expected + #ARGV - 5, p = pos, f = ARGV[4]})
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then
    redis.call("SET", KEYS[3], record, "EX", ttl)
  else
    redis.call("SET", KEYS[3], record)
  end
end
if ARGV[5] ~= "" then redis.call("SET", KEYS[4], ARGV[5]) end
return reply
