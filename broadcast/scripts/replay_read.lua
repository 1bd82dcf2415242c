-- One atomic read of a doctor's sequence number and the newest replay log entries.
-- KEYS[1] seq, KEYS[2] log
-- ARGV: after (-1: only the current seq)
-- Returns {current, newest entry, ...} down to the entry of seq == after (when the log has it):
-- that one extra entry lets the caller check the log continues what the client saw.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after < 0 or after >= current then return {current} end
local entries = redis.call('LRANGE', KEYS[2], 0, current - after)
table.insert(entries, 1, current)
return entries
