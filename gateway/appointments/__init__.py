"""The appointment lifecycle: lists, cancel, reschedule, join, no-show, complete, approve, history, iCalendar."""
