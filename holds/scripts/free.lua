-- An appointment stopped blocking its interval (cancelled, rescheduled away): free its cells
-- and announce the slot is free again.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5..] cells
-- ARGV: channel, log_max, doctor_id, appointment_id, start_iso, end_iso
local d = doctor_keys()
local channel, log_max, doctor_id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local booked, start_iso, end_iso = 'b:' .. ARGV[4], ARGV[5], ARGV[6]
for i = 5, #KEYS do
  if redis.call('GET', KEYS[i]) == booked then redis.call('DEL', KEYS[i]) end
end
local seq = announce(d, channel, log_max, 'slot.freed', doctor_id, start_iso, end_iso, now_ms())
return {'ok', seq}
