-- Take every cell of a slot, or none (design invariant 2).
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash, KEYS[6] warm flag,
-- KEYS[7] longest span, KEYS[8..] cells
-- ARGV: channel, log_max, doctor_id, hold_id, token_hash, ttl_ms, history_ms,
--       start_iso, end_iso, start_ms, block_ms, type_id, patient_ref
local d = doctor_keys()
local channel, log_max, doctor_id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local hold_id, token_hash, ttl, history_ms = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local start_iso, end_iso, start_ms, block_ms = ARGV[8], ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local type_id, patient_ref = ARGV[12], ARGV[13]

-- Redis lost its memory (flush, failover): the caller re-warms booked cells from Postgres first.
if redis.call('EXISTS', KEYS[6]) == 0 then return {'cold'} end

local now = now_ms()
-- Announce lapsed holds of this doctor before anything new, so events stay in causal order.
expire_due(d, channel, log_max, doctor_id, now)

-- One MGET over every cell. A booked cell ('b:<appointment id>') is named in the answer: if
-- Postgres no longer has that appointment active (its cancel could not reach Redis), the caller
-- frees its cells and tries again.
local taken = false
for _, value in ipairs(redis.call('MGET', unpack(KEYS, 8))) do
  if value then
    if string.sub(value, 1, 2) == 'b:' then return {'taken', value} end
    taken = true
  end
end
if taken then return {'taken'} end

local deadline = now + ttl
for i = 8, #KEYS do
  redis.call('SET', KEYS[i], hold_id, 'PXAT', deadline)
end
local member = hold_id .. '|' .. start_iso .. '|' .. end_iso .. '|' .. ARGV[10] .. '|' .. ARGV[11]
redis.call('HSET', KEYS[5],
  'status', 'held', 'token', token_hash, 'deadline', deadline, 'member', member,
  'start', start_iso, 'end', end_iso, 'start_ms', ARGV[10], 'block_ms', ARGV[11],
  'type_id', type_id, 'patient_ref', patient_ref, 'created', now)
redis.call('PEXPIREAT', KEYS[5], deadline + history_ms)
redis.call('ZADD', d.holds, deadline, member)
redis.call('ZADD', d.spans, start_ms, member)
-- the longest span ever held tells the snapshot how far before a range a hold may start and
-- still reach into it
if block_ms - start_ms > tonumber(redis.call('GET', KEYS[7]) or '0') then
  redis.call('SET', KEYS[7], block_ms - start_ms)
end
local seq = announce(d, channel, log_max, 'slot.held', doctor_id, start_iso, end_iso, now)
return {'ok', seq, deadline}
