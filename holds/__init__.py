"""Atomic holds in Redis: keys, Lua scripts, the confirm hand-off and the expiry sweeper."""
