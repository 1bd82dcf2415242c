-- The sweeper: expire one hold if its deadline has passed.
-- Returns 'expired' (announced here), 'gone' (finished or announced by someone else) or the
-- hold's later deadline (a confirm extended it).
-- KEYS[1] hold hash   ARGV: base, channel, log_max, doctor_id, hold_id
local base, channel, log_max, doctor_id, hold_id = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local result = expire_hold(base, channel, log_max, doctor_id, hold_id, now_ms())
if type(result) == 'number' then return {'later', result} end
return {result}
