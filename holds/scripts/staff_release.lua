-- The organisation's staff let a hold go without its token (the front desk).
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash, KEYS[6..] cells
-- ARGV: channel, log_max, doctor_id, hold_id
-- Like release.lua, but the hold is named by its id alone: the caller's right to it was checked
-- by the gateway (staff of the doctor's organisation). The release is announced the same way.
local d = doctor_keys()
local channel, log_max, doctor_id, hold_id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local h = redis.call('HMGET', KEYS[5], 'status', 'member', 'start', 'end', 'deadline')
if not h[1] then return {'unknown'} end
local now = now_ms()
if h[1] == 'confirming' then return {'busy'} end
if h[1] ~= 'held' then return {'gone', h[1]} end
if tonumber(h[5]) < now then
  expire_hold(d, KEYS[5], channel, log_max, doctor_id, now)
  return {'gone', 'expired'}
end
return {'ok', release_hold(d, KEYS[5], hold_id, h[2], h[3], h[4], channel, log_max, doctor_id, now)}
