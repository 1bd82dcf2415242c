-- Remove an entry from the global due index only if nobody moved it since it was read.
-- KEYS[1] due zset
-- ARGV: member, score
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
