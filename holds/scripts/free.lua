-- An appointment stopped blocking its interval (cancelled, rescheduled away): free its cells
-- and announce the slot is free again.
-- KEYS[1..] cells   ARGV: base, channel, log_max, doctor_id, appointment_id, start_iso, end_iso
local base, channel, log_max, doctor_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local booked = 'b:' .. ARGV[5]
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == booked then redis.call('DEL', KEYS[i]) end
end
local seq = announce(base, channel, log_max, 'slot.freed', doctor_id, ARGV[6], ARGV[7], now_ms())
return {'ok', seq}
