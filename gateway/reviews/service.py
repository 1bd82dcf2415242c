"""Reviews: the patient rates a completed appointment once; a low rating alerts the admins.

Who may do what: only the appointment's own patient writes its review (``visible`` decides which
appointments a caller has; staff who see it get 403, everyone else 404, so that existence does not
leak). The appointment's people and its organisation's staff read it; the organisation's admins
list all of them.
"""

from __future__ import annotations

import uuid

from gateway import cursors
from gateway.appointments.service import visible
from gateway.auth import Principal
from gateway.clinic.service import allow
from gateway.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gateway.reviews import schemas
from store import appointments as appointment_repo
from store import clinic as clinic_repo
from store import reviews as repo
from store.models import Appointment
from store.reviews import Review
from store.types import Conn, Pool


async def _appointment(db: Conn, who: Principal, appointment_id: uuid.UUID) -> Appointment:
    found = await appointment_repo.get(db, appointment_id)
    if found is None or not visible(who, found):
        raise NotFound(f"Appointment {appointment_id} not found.")
    return found


def review_out(review: Review) -> schemas.ReviewOut:
    return schemas.ReviewOut(
        appointment_id=review.appointment_id,
        doctor_id=review.doctor_id,
        rating=review.rating,
        comment=review.comment,
        created_at=review.created_at,
    )


async def create(db: Pool, who: Principal, appointment_id: uuid.UUID, body: schemas.ReviewIn) -> Review:
    """Record the patient's review, its ``review.created`` message and, at or under the organisation's
    ``low_rating_threshold``, its ``review.low_rating`` alert: all in one transaction.

    Raises:
        NotFound: not an appointment of the caller's.
        Forbidden: (``patients_only``) staff, who may see the appointment but not rate it.
        Conflict: (``not_completed``) before the appointment is completed; (``already_reviewed``).
    """
    a = await _appointment(db, who, appointment_id)
    if who.role != "patient":
        raise Forbidden("Only the appointment's patient may review it.", code="patients_only")
    comment = body.comment.strip() if body.comment is not None else None
    try:
        async with db.acquire() as conn, conn.transaction():
            return await repo.create(conn, a, body.rating, comment or None)
    except repo.AlreadyReviewed:
        raise Conflict("This appointment has been reviewed already.", code="already_reviewed") from None
    except repo.NotCompleted:
        raise Conflict(
            f"An appointment can be reviewed once it is completed; this one is {a.status}.",
            code="not_completed",
            current_status=a.status,
        ) from None


async def get(db: Conn, who: Principal, appointment_id: uuid.UUID) -> Review:
    """The appointment's review, for its patient, its doctor and its organisation's admins.

    Raises:
        NotFound: (``not_found``) not an appointment of the caller's; (``not_reviewed``) no review yet.
    """
    a = await _appointment(db, who, appointment_id)
    found = await repo.get(db, a.id)
    if found is None:
        raise NotFound(f"Appointment {appointment_id} has no review yet.", code="not_reviewed")
    return found


async def page(
    db: Conn,
    who: Principal,
    organisation_id: uuid.UUID,
    *,
    doctor_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Review], str | None]:
    """A page of the organisation's reviews, newest first (its admins).

    Raises:
        Forbidden: not an admin of the organisation.
        NotFound: no such organisation.
        ValidationFailed: a limit outside 1..50, or a cursor this gateway did not give out.
    """
    allow(who.administers(organisation_id), "Only the organisation's admins may list its reviews.")
    if not 1 <= limit <= 50:
        raise ValidationFailed("limit: between 1 and 50")
    after = cursors.decode_uuid(cursor) if cursor else None
    if await clinic_repo.get_organisation(db, organisation_id) is None:
        raise NotFound(f"Organisation {organisation_id} not found.")
    rows = await repo.page(db, organisation_id, doctor_id=doctor_id, after=after, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursors.encode(rows[-1].created_at, rows[-1].appointment_id) if more and rows else None
