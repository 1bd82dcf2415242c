-- Take a place for one more live hold of a patient, unless they have `limit` already.
-- KEYS[1] the patient's live holds (scored by deadline)
-- ARGV: limit, member, ttl_ms
-- Returns 1 when the place was taken, 0 when the patient is at the limit.
-- Now is Redis's clock, as for the deadlines the holds' scores are: a gateway whose own clock ran
-- ahead would count every live hold as lapsed, and one behind would file its reservation expired.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
return 1
