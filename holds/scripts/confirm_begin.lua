-- Check the token and keep the hold alive while its appointment is written to Postgres.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash, KEYS[6..] cells
-- ARGV: channel, log_max, doctor_id, hold_id, token_hash, grace_ms
local d = doctor_keys()
local channel, log_max, doctor_id, hold_id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local token_hash, grace_ms = ARGV[5], tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[5], 'status', 'token', 'member', 'deadline', 'appointment_id')
if not h[1] or h[2] ~= token_hash then return {'unknown'} end
local status = h[1]
if status == 'booked' then return {'booked', h[5]} end
if status == 'confirming' then return {'busy'} end
if status ~= 'held' then return {'gone', status} end
local now = now_ms()
if tonumber(h[4]) < now then
  expire_hold(d, KEYS[5], channel, log_max, doctor_id, now)
  return {'gone', 'expired'}
end
local deadline = now + grace_ms
for i = 6, #KEYS do
  redis.call('SET', KEYS[i], hold_id, 'PXAT', deadline)
end
-- a new deadline only: the hold's place in the interval index (its start) does not change
redis.call('ZADD', d.holds, deadline, h[3])
-- held_until: the deadline the hold had, given back to it if the confirm cannot finish
redis.call('HSET', KEYS[5], 'status', 'confirming', 'deadline', deadline, 'held_until', h[4])
return {'ok', deadline}
