"""Slot events: their shape, channel names, publishing, per-process fan-out and resume."""
