-- What /slots needs from Redis in one atomic read: the doctor's seq and the live held intervals.
-- KEYS[1] holds zset, KEYS[2] seq
local now = now_ms()
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
return {seq, live}
