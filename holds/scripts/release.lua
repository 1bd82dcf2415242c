-- The holder lets a hold go.
-- KEYS[1] hold hash, KEYS[2..] cells
-- ARGV: base, channel, log_max, doctor_id, hold_id, token_hash
local base, channel, log_max, doctor_id, hold_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local h = redis.call('HMGET', KEYS[1], 'status', 'token', 'member', 'start', 'end', 'deadline')
if not h[1] or h[2] ~= ARGV[6] then return {'unknown'} end
local now = now_ms()
if h[1] == 'confirming' then return {'busy'} end
if h[1] ~= 'held' then return {'gone', h[1]} end
if tonumber(h[6]) < now then
  expire_hold(base, channel, log_max, doctor_id, hold_id, now)
  return {'gone', 'expired'}
end
drop_cells(hold_id, 2, #KEYS)
redis.call('ZREM', base .. 'holds', h[3])
redis.call('HSET', KEYS[1], 'status', 'released')
local seq = announce(base, channel, log_max, 'slot.released', doctor_id, h[4], h[5], now)
return {'ok', seq}
