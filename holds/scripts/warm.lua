-- Re-warm booked cells from Postgres after Redis lost them (design invariant 5).
-- KEYS[1] warm flag, KEYS[2..] cells
-- ARGV: warm_ttl_ms, cells... (per cell key: its value and its pxat)
for i = 2, #KEYS do
  local value, pxat = ARGV[(i - 2) * 2 + 2], ARGV[(i - 2) * 2 + 3]
  redis.call('SET', KEYS[i], value, 'PXAT', pxat)
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return #KEYS - 1
