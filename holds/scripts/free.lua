-- An appointment stopped blocking its interval (cancelled, rescheduled away): free its cells
-- and announce the slot is free again.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5..] cells
-- ARGV: base, channel, log_max, doctor_id, appointment_id, start_iso, end_iso
local d = doctor_keys()
local channel, log_max, doctor_id = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local booked = 'b:' .. ARGV[5]
for i = 5, #KEYS do
  if redis.call('GET', KEYS[i]) == booked then redis.call('DEL', KEYS[i]) end
end
local seq = announce(d, channel, log_max, 'slot.freed', doctor_id, ARGV[6], ARGV[7], now_ms())
return {'ok', seq}
