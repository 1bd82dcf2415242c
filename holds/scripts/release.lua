-- The holder lets a hold go.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash, KEYS[6..] cells
-- ARGV: channel, log_max, doctor_id, hold_id, token_hash
local d = doctor_keys()
local channel, log_max, doctor_id, hold_id, token_hash = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local h = redis.call('HMGET', KEYS[5], 'status', 'token', 'member', 'start', 'end', 'deadline')
if not h[1] or h[2] ~= token_hash then return {'unknown'} end
local now = now_ms()
if h[1] == 'confirming' then return {'busy'} end
if h[1] ~= 'held' then return {'gone', h[1]} end
if tonumber(h[6]) < now then
  expire_hold(d, KEYS[5], channel, log_max, doctor_id, now)
  return {'gone', 'expired'}
end
return {'ok', release_hold(d, KEYS[5], hold_id, h[3], h[4], h[5], channel, log_max, doctor_id, now)}
