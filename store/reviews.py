"""Patients' reviews of completed appointments: one each, told through the outbox (invariant 9).

A review and its messages are one transaction: ``review.created`` always, and ``review.low_rating``
too when the rating is at or under the organisation's ``low_rating_threshold`` (its admins are
alerted). The database decides both refusals: the insert takes only a ``completed`` appointment,
and the primary key only one review per appointment, however many arrive at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from store import outbox
from store.models import Appointment, from_record
from store.types import Conn

INSERT_REVIEW = (
    "INSERT INTO reviews (appointment_id, organisation_id, doctor_id, rating, comment)"
    " SELECT id, organisation_id, doctor_id, $2, $3 FROM appointments WHERE id = $1 AND status = 'completed'"
    " ON CONFLICT (appointment_id) DO NOTHING RETURNING *"
)
GET_REVIEW = "SELECT * FROM reviews WHERE appointment_id = $1"
THRESHOLD = "SELECT low_rating_threshold FROM organisations WHERE id = $1"
# Newest first; keyset paged on (created_at, appointment_id) so rows added meanwhile shift nothing.
PAGE = (
    "SELECT * FROM reviews WHERE organisation_id = $1 AND ($2::uuid IS NULL OR doctor_id = $2)"
    " AND ($3::timestamptz IS NULL OR (created_at, appointment_id) < ($3, $4::uuid))"
    " ORDER BY created_at DESC, appointment_id DESC LIMIT $5"
)


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """A patient's rating (1 to 5) of a completed appointment, with an optional comment."""

    appointment_id: uuid.UUID
    organisation_id: uuid.UUID
    doctor_id: uuid.UUID
    rating: int
    comment: str | None
    created_at: datetime


class AlreadyReviewed(Exception):
    """The appointment has its review already."""


class NotCompleted(Exception):
    """Only a completed appointment can be reviewed."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def review_data(review: Review, a: Appointment) -> dict[str, Any]:
    """What a ``review.created`` / ``review.low_rating`` message says."""
    return {
        "review": {
            "appointment_id": str(review.appointment_id),
            "doctor_id": str(review.doctor_id),
            "rating": review.rating,
            "comment": review.comment,
            "created_at": _iso(review.created_at),
        },
        "appointment": outbox.snapshot(a),
    }


async def create(db: Conn, a: Appointment, rating: int, comment: str | None) -> Review:
    """Record the review of ``a`` and its messages (call inside a transaction).

    Raises:
        AlreadyReviewed: the appointment has a review already.
        NotCompleted: the appointment is not ``completed``.
    """
    row = await db.fetchrow(INSERT_REVIEW, a.id, rating, comment)
    if row is None:
        if await db.fetchrow(GET_REVIEW, a.id) is not None:
            raise AlreadyReviewed(a.id)
        raise NotCompleted(a.id)
    review = from_record(Review, row)
    data = review_data(review, a)
    await outbox.enqueue(db, a.organisation_id, "review.created", data, appointment_id=a.id)
    threshold: int | None = await db.fetchval(THRESHOLD, a.organisation_id)
    if threshold is not None and rating <= threshold:
        await outbox.enqueue(db, a.organisation_id, "review.low_rating", data, appointment_id=a.id)
    return review


async def get(db: Conn, appointment_id: uuid.UUID) -> Review | None:
    row = await db.fetchrow(GET_REVIEW, appointment_id)
    return from_record(Review, row) if row else None


async def page(
    db: Conn,
    organisation_id: uuid.UUID,
    *,
    doctor_id: uuid.UUID | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 20,
) -> list[Review]:
    """One page of an organisation's reviews (one doctor's, if given), newest first.

    Fetches ``limit + 1`` rows so the caller can tell whether another page follows.

    Args:
        after: ``(created_at, appointment_id)`` of the last review of the previous page.
    """
    before_at, before_id = after if after is not None else (None, None)
    rows = await db.fetch(PAGE, organisation_id, doctor_id, before_at, before_id, limit + 1)
    return [from_record(Review, r) for r in rows]
