-- The doctor's schedule changed in a way single slot events cannot describe (a window or an
-- override): tell every open page to fetch the slots again, and every gateway process (following
-- the doctor or not) to forget what it cached of the doctor's schedule.
-- KEYS[1..4] the doctor's keys (see _lib.lua)
-- ARGV: channel, log_max, doctor_id, resync_channel
local d = doctor_keys()
local channel, log_max, doctor_id, resync_channel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local seq = announce(d, channel, log_max, 'resync', doctor_id, nil, nil, now_ms())
-- the same payload, as announce just logged it, on the channel every hub subscribes to
redis.call('PUBLISH', resync_channel, redis.call('LINDEX', d.log, 0))
return {'ok', seq}
