-- Finish a confirm once Postgres has answered.
-- outcome 'booked': the appointment is committed; its cells now say so until blocked_until.
-- outcome 'refused': Postgres refused the slot (someone has it); the hold lets go.
-- outcome 'retry': Postgres could not be reached; the holder may try again.
-- KEYS[1] hold hash, KEYS[2..] cells
-- ARGV: base, channel, log_max, doctor_id, hold_id, outcome, appointment_id, block_ms
local base, channel, log_max, doctor_id, hold_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local outcome = ARGV[6]
local h = redis.call('HMGET', KEYS[1], 'status', 'member', 'start', 'end', 'deadline')
local now = now_ms()
if outcome == 'booked' then
  local booked = 'b:' .. ARGV[7]
  for i = 2, #KEYS do
    redis.call('SET', KEYS[i], booked, 'PXAT', ARGV[8])
  end
  if h[2] then redis.call('ZREM', base .. 'holds', h[2]) end
  redis.call('HSET', KEYS[1], 'status', 'booked', 'appointment_id', ARGV[7])
  local seq = announce(base, channel, log_max, 'slot.booked', doctor_id, h[3], h[4], now)
  return {'ok', seq}
end
if h[1] ~= 'confirming' then return {'gone', h[1] or 'unknown'} end
if outcome == 'retry' then
  redis.call('HSET', KEYS[1], 'status', 'held')
  return {'ok', 0}
end
drop_cells(hold_id, 2, #KEYS)
redis.call('ZREM', base .. 'holds', h[2])
redis.call('HSET', KEYS[1], 'status', 'released')
local seq = announce(base, channel, log_max, 'slot.released', doctor_id, h[3], h[4], now)
return {'ok', seq}
