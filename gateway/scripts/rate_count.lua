-- One fixed window: the first request starts it (SET NX PX), each one counts (INCR); the answer
-- carries the count and the time the window has left.
-- KEYS[1] the budget's counter
-- ARGV: window_ms
redis.call('SET', KEYS[1], 0, 'PX', ARGV[1], 'NX')
return {redis.call('INCR', KEYS[1]), redis.call('PTTL', KEYS[1])}
