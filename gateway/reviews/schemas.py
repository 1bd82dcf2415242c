"""Bodies of the review routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

Rating = Annotated[int, Meta(ge=1, le=5, description="1 (poor) to 5 (excellent)")]


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rating: Rating
    comment: Annotated[str, Meta(max_length=2000, description="optional; blank counts as none")] | None = None


class ReviewOut(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: uuid.UUID
    doctor_id: uuid.UUID
    rating: int
    comment: str | None
    created_at: datetime


class ReviewPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ReviewOut]
    next_cursor: str | None
