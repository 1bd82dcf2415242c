-- Shared helpers, prepended to every hold script when it is loaded (holds/scripts.py).
-- Every key a script touches carries the doctor's hash tag, so the scripts run unchanged on
-- Redis Cluster. Hold hashes are found from the doctor's base key ("P:{doctor}:").

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Take the next sequence number, keep the event in the bounded replay log and publish it.
-- seq is taken here, in the same script as the change it announces (design invariant 3).
local function announce(base, channel, log_max, kind, doctor_id, start_iso, end_iso, ts)
  local seq = redis.call('INCR', base .. 'seq')
  local payload = cjson.encode({
    type = kind, doctor_id = doctor_id, start = start_iso, ['end'] = end_iso, seq = seq, ts = ts,
  })
  redis.call('LPUSH', base .. 'log', payload)
  redis.call('LTRIM', base .. 'log', 0, log_max - 1)
  redis.call('PUBLISH', channel, payload)
  return seq
end

-- Expire one hold whose deadline has passed; the ZREM decides who announces, so a lapse is
-- announced exactly once whoever gets there first (a new hold, the sweeper of any process).
local function expire_hold(base, channel, log_max, doctor_id, hold_id, now)
  local hkey = base .. 'hold:' .. hold_id
  local h = redis.call('HMGET', hkey, 'status', 'member', 'deadline', 'start', 'end')
  local status, member, deadline = h[1], h[2], tonumber(h[3])
  if not status then return 'gone' end
  if status ~= 'held' and status ~= 'confirming' then return 'gone' end
  if deadline >= now then return deadline end
  if redis.call('ZREM', base .. 'holds', member) == 0 then return 'gone' end
  redis.call('HSET', hkey, 'status', 'expired')
  announce(base, channel, log_max, 'slot.released', doctor_id, h[4], h[5], now)
  return 'expired'
end

local function expire_due(base, channel, log_max, doctor_id, now)
  -- strictly before now: Redis treats a key as expired once now > its PXAT
  local due = redis.call('ZRANGEBYSCORE', base .. 'holds', '-inf', '(' .. now)
  for _, member in ipairs(due) do
    local hold_id = string.match(member, '^([^|]+)')
    expire_hold(base, channel, log_max, doctor_id, hold_id, now)
  end
end

-- Delete the cells that still belong to this hold (a cell may already be someone else's).
local function drop_cells(hold_id, first, last)
  for i = first, last do
    if redis.call('GET', KEYS[i]) == hold_id then redis.call('DEL', KEYS[i]) end
  end
end
