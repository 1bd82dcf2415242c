"""Reminder rules per appointment type, and claiming the reminders that fall due (sent by the outbox worker)."""
