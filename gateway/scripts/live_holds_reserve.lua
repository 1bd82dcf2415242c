-- Take a place for one more live hold of a patient, unless they have `limit` already.
-- KEYS[1] the patient's live holds (scored by deadline)
-- ARGV: now_ms, limit, member, deadline_ms
-- Returns 1 when the place was taken, 0 when the patient is at the limit.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
return 1
