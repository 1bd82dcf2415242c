-- The doctor's schedule changed in a way single slot events cannot describe (a window or an
-- override): tell every open page to fetch the slots again.
-- ARGV: base, channel, log_max, doctor_id
local base, channel, log_max, doctor_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local seq = announce(base, channel, log_max, 'resync', doctor_id, nil, nil, now_ms())
return {'ok', seq}
