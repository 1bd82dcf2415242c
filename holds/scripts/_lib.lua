-- Shared helpers, prepended to every hold script when it is loaded (holds/scripts.py).
-- Every key of one doctor carries the doctor's hash tag, and every key a script touches arrives
-- in KEYS (the Python side builds the names), so the scripts run unchanged on Redis Cluster.
-- Each script names its ARGV in its header ("-- ARGV: a, b, ...") in the order of its argument
-- struct in holds/scripts.py (a test compares the two) and unpacks them in that order.
--
-- A doctor's scripts get the doctor's keys first, in this order (HoldEngine._doctor_keys):
--   KEYS[1] seq, KEYS[2] replay log, KEYS[3] holds (deadline index), KEYS[4] spans (interval index)
-- "holds" scores each live hold's member by its deadline (lapses); "spans" scores the same member
-- by its start (what /slots reads for a range). A member is "hold_id|start_iso|end_iso|start_ms|block_ms"
-- (what its release announces, and what /slots needs); a hold is in both indexes or in neither,
-- and every script that adds or removes it does both.

-- How a doctor's events go out: plain pub/sub on one Redis. On a Redis Cluster the gateway loads
-- a variant of every script with this line saying 'SPUBLISH' (holds/scripts.py, sharded_script):
-- the doctor's channel carries the doctor's hash tag, so it lives in the script's own slot and
-- an event costs only its own shard instead of crossing the whole cluster bus.
local PUBLISH = 'PUBLISH'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function doctor_keys()
  return {seq = KEYS[1], log = KEYS[2], holds = KEYS[3], spans = KEYS[4]}
end

-- Take the next sequence number, keep the event in the bounded replay log and publish it.
-- seq is taken here, in the same script as the change it announces (design invariant 3).
local function announce(d, channel, log_max, kind, doctor_id, start_iso, end_iso, ts)
  local seq = redis.call('INCR', d.seq)
  local payload = cjson.encode({
    type = kind, doctor_id = doctor_id, start = start_iso, ['end'] = end_iso, seq = seq, ts = ts,
  })
  redis.call('LPUSH', d.log, payload)
  redis.call('LTRIM', d.log, 0, log_max - 1)
  redis.call(PUBLISH, channel, payload)
  return seq
end

-- Take a hold out of both indexes; whether it was still in them (the deadline index decides).
local function unindex(d, member)
  redis.call('ZREM', d.spans, member)
  return redis.call('ZREM', d.holds, member)
end

-- Expire one hold whose deadline has passed; the ZREM decides who announces, so a lapse is
-- announced exactly once whoever gets there first (a new hold's expire_due, the sweeper of any
-- process). The hash is marked here, by whoever has it in KEYS; until then a reader takes
-- "held" or "confirming" with a past deadline for expired.
local function expire_hold(d, hkey, channel, log_max, doctor_id, now)
  local h = redis.call('HMGET', hkey, 'status', 'member', 'deadline', 'start', 'end')
  local status, member, deadline = h[1], h[2], tonumber(h[3])
  if not status then return 'gone' end
  if status ~= 'held' and status ~= 'confirming' then return 'gone' end
  if deadline >= now then return deadline end
  redis.call('HSET', hkey, 'status', 'expired')
  if unindex(d, member) == 0 then return 'gone' end
  announce(d, channel, log_max, 'slot.released', doctor_id, h[4], h[5], now)
  return 'expired'
end

-- Announce (and take out of both indexes) every lapsed hold of the doctor, from the deadline
-- index alone: its members carry what the release event says, so no hold hash outside KEYS is
-- touched. The hashes are marked expired by the sweeper (expire.lua), which has them in KEYS.
local function expire_due(d, channel, log_max, doctor_id, now)
  -- strictly before now: Redis treats a key as expired once now > its PXAT
  local due = redis.call('ZRANGEBYSCORE', d.holds, '-inf', '(' .. now)
  for _, member in ipairs(due) do
    local start_iso, end_iso = string.match(member, '^[^|]+|([^|]+)|([^|]+)|%d+|%d+$')
    -- a member of the earlier form (hold_id|start_ms|block_ms, written before an upgrade) names
    -- no times: the sweeper announces that one, with its hash in KEYS
    if start_iso and unindex(d, member) == 1 then
      announce(d, channel, log_max, 'slot.released', doctor_id, start_iso, end_iso, now)
    end
  end
end

-- Delete the cells that still belong to this hold (a cell may already be someone else's).
local function drop_cells(hold_id, first, last)
  for i = first, last do
    if redis.call('GET', KEYS[i]) == hold_id then redis.call('DEL', KEYS[i]) end
  end
end

-- A live hold let go (by its holder, by staff, or by a confirm Postgres refused): its cells
-- (KEYS[6..]) freed, out of the indexes, marked released, and slot.released announced; the
-- event's seq.
local function release_hold(d, hkey, hold_id, member, start_iso, end_iso, channel, log_max, doctor_id, now)
  drop_cells(hold_id, 6, #KEYS)
  unindex(d, member)
  redis.call('HSET', hkey, 'status', 'released')
  return announce(d, channel, log_max, 'slot.released', doctor_id, start_iso, end_iso, now)
end
