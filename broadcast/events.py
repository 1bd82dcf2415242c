"""The slot events every open page receives (published from the hold scripts in Lua)."""

from __future__ import annotations

from typing import Literal

import msgspec

EventType = Literal["slot.held", "slot.released", "slot.booked", "slot.freed", "resync"]


class SlotEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One change of one slot. ``seq`` grows by one per doctor; ``ts`` is the publish time (epoch ms)."""

    type: EventType
    doctor_id: str
    start: str | None = None
    end: str | None = None
    seq: int
    ts: int


decode = msgspec.json.Decoder(SlotEvent).decode
