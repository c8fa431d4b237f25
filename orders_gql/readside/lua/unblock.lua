-- Unblock an order once none of its entries is parked any more; 0 when one is
-- (the projector parked another behind it meanwhile: the retry applies it too).
-- KEYS: blocked hash, parked hash; ARGV: order id
for _, order in ipairs(redis.call("HVALS", KEYS[2])) do
  if order == ARGV[1] then
    return 0
  end
end
redis.call("HDEL", KEYS[1], ARGV[1])
return 1
