-- Atomic append of one command's events.
-- KEYS: order stream, partition log, [idempotency key], [snapshot key]
-- ARGV[1]: "<expected version> <event count> <use idempotency 0|1> <snapshot 0|1> <ttl> <fingerprint>"
-- ARGV[2..]: the events as JSON in version order, then the snapshot JSON if any.
-- Returns {"ok", new_version, pos...} | {"conflict", current} | {"duplicate", record}
local expected, count, idem, snap, ttl, fingerprint =
  string.match(ARGV[1], "^(%d+) (%d+) (%d) (%d) (%d+) ?(%S*)$")
expected = tonumber(expected)
count = tonumber(count)
local idem_key = idem == "1" and KEYS[3] or nil
if idem_key then
  local prior = redis.call("GET", idem_key)
  if prior then
    -- Written again (unchanged), so that a WAIT after this call covers the
    -- command that first wrote it: a retry is acknowledged only once replicated.
    redis.call("SET", idem_key, prior, "KEEPTTL")
    return {"duplicate", prior}
  end
end
-- An order stream is never trimmed and its entry ids are <version>-0: its length is its version.
local current = redis.call("XLEN", KEYS[1])
if current ~= expected then return {"conflict", current} end
local reply = {"ok", expected + count}
local pos = ""
for i = 1, count do
  pos = redis.call("XADD", KEYS[2], "*", "e", ARGV[i + 1])
  redis.call("XADD", KEYS[1], (expected + i) .. "-0", "e", ARGV[i + 1], "p", pos)
  reply[#reply + 1] = pos
end
if idem_key then
  local record = cjson.encode({v = expected + count, p = pos, f = fingerprint})
  if tonumber(ttl) > 0 then
    redis.call("SET", idem_key, record, "EX", ttl)
  else
    redis.call("SET", idem_key, record)
  end
end
if snap == "1" then redis.call("SET", KEYS[#KEYS], ARGV[count + 2]) end
return reply
