"""Bodies of the appointment routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from gateway.booking.schemas import AppointmentOut


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Annotated[str, Meta(max_length=1000, description="Why; required")] | None = None


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    hold_id: uuid.UUID
    reason: Annotated[str, Meta(max_length=1000)] | None = None


class MovedOut(AppointmentOut, frozen=True, kw_only=True):
    """The new appointment of a reschedule."""

    manage_url: str | None = None
    """For patient callers: the new appointment's "manage my booking" page (the old one's link
    stops working once it has moved); ``None`` for staff."""


class AppointmentPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AppointmentOut]
    next_cursor: str | None


class JoinOut(msgspec.Struct, frozen=True, kw_only=True):
    meeting_url: str
    expires_at: str
    """When the address stops opening the room (with room tokens on) and the join window closes."""
    opens_at: str
    closes_at: str


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    actor: str
    actor_ref: str | None
    from_status: str | None = msgspec.field(name="from")
    to_status: str = msgspec.field(name="to")
    reason: str | None
    detail: dict[str, Any] | None


class HistoryOut(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: uuid.UUID
    items: list[HistoryEntry]
