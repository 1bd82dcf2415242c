-- Finish a confirm once Postgres has answered.
-- outcome 'booked': the appointment is committed; its cells now say so until blocked_until.
-- outcome 'refused': Postgres refused the slot (someone has it); the hold lets go.
-- outcome 'retry': the write failed (Postgres unreachable, or anything unexpected); the holder
-- has the hold back, with the time it had left, and may try again.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash, KEYS[6..] cells
-- ARGV: channel, log_max, doctor_id, hold_id, outcome, appointment_id, block_ms
local d = doctor_keys()
local channel, log_max, doctor_id, hold_id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local outcome, appointment_id, block_ms = ARGV[5], ARGV[6], ARGV[7]
local h = redis.call('HMGET', KEYS[5], 'status', 'member', 'start', 'end', 'deadline')
local now = now_ms()
if outcome == 'booked' then
  local booked = 'b:' .. appointment_id
  for i = 6, #KEYS do
    redis.call('SET', KEYS[i], booked, 'PXAT', block_ms)
  end
  -- from here /slots sees the appointment in Postgres, not the hold in the interval index
  if h[2] then unindex(d, h[2]) end
  redis.call('HSET', KEYS[5], 'status', 'booked', 'appointment_id', appointment_id)
  local seq = announce(d, channel, log_max, 'slot.booked', doctor_id, h[3], h[4], now)
  return {'ok', seq}
end
if h[1] ~= 'confirming' then return {'gone', h[1] or 'unknown'} end
if outcome == 'retry' then
  -- the holder gets the hold back with the time it had left when the confirm began (not the
  -- confirm's grace): a failed write must not cost the patient a slot that had minutes to go
  local held_until = tonumber(redis.call('HGET', KEYS[5], 'held_until') or '0')
  if held_until > now then
    for i = 6, #KEYS do
      redis.call('SET', KEYS[i], hold_id, 'PXAT', held_until)
    end
    redis.call('ZADD', d.holds, held_until, h[2])
    redis.call('HSET', KEYS[5], 'status', 'held', 'deadline', held_until)
  else
    redis.call('HSET', KEYS[5], 'status', 'held')
  end
  return {'ok', 0}
end
return {'ok', release_hold(d, KEYS[5], hold_id, h[2], h[3], h[4], channel, log_max, doctor_id, now)}
