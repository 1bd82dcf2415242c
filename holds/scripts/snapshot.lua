-- What /slots needs from Redis in one atomic read: the doctor's seq and the live holds that
-- overlap [from_ms, to_ms). Only the holds starting in [from_ms - longest span, to_ms) are read
-- (the interval index), so a doctor with thousands of holds further out costs what a quiet one does.
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] longest span
-- ARGV: from_ms, to_ms
local d = doctor_keys()
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local longest = tonumber(redis.call('GET', KEYS[5]) or '0')
local near = redis.call('ZRANGEBYSCORE', d.spans, from - longest, '(' .. to)
local live = {}
-- the deadline index says which of them are still live; ZMSCORE in chunks (Lua's unpack limit)
for first = 1, #near, 1000 do
  local last = math.min(first + 999, #near)
  local deadlines = redis.call('ZMSCORE', d.holds, unpack(near, first, last))
  for i = first, last do
    local deadline = deadlines[i - first + 1]
    local member = near[i]
    if deadline and tonumber(deadline) >= now and tonumber(string.match(member, '|(%d+)$')) > from then
      live[#live + 1] = member
    end
  end
end
local seq = tonumber(redis.call('GET', d.seq) or '0')
return {seq, live}
