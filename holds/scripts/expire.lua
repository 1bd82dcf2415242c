-- The sweeper: expire one hold if its deadline has passed.
-- Returns 'expired' (announced here), 'gone' (finished or announced by someone else) or the
-- hold's later deadline (a confirm extended it).
-- KEYS[1..4] the doctor's keys (see _lib.lua), KEYS[5] hold hash
-- ARGV: channel, log_max, doctor_id
local d = doctor_keys()
local result = expire_hold(d, KEYS[5], ARGV[1], tonumber(ARGV[2]), ARGV[3], now_ms())
if type(result) == 'number' then return {'later', result} end
return {result}
