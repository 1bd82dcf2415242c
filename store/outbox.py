"""The outbox and its deliveries (design invariant 9).

An appointment change writes its outbox row in the transaction of the change (``enqueue``, called
by ``store.appointments``), so a message exists exactly when its change committed. A worker then
``expand``s each row into deliveries (one per channel and recipient, in one transaction with
``FOR UPDATE SKIP LOCKED``), and ``claim``s due deliveries under a lease: a worker that dies
mid-delivery lets the lease lapse and another sends it again. Delivery is at least once; the
row's ``message_id`` is the stable id receivers deduplicate by.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from store.models import Appointment, from_record
from store.types import Conn

# NOTIFY'd on every new outbox row and every delivery made due, so workers wake at once;
# they poll as well, so a lost notification (no listener at the time) only delays.
CHANNEL = "gateway_outbox"

EVENT_TYPES = (
    "appointment.booked",
    "appointment.approved",
    "appointment.cancelled",
    "appointment.rescheduled",
    "appointment.completed",
    "appointment.no_show",
    "appointment.reminder",
    "review.created",
    "review.low_rating",
    "webhook.disabled",  # internal: to the organisation's admins, never to a webhook
)

# The event an appointment's move into a status announces. Moving to ``rescheduled`` announces
# nothing itself: the new appointment's insert (in the same transaction) says
# ``appointment.rescheduled`` with both ids.
TRANSITION_EVENTS = {
    "cancelled": "appointment.cancelled",
    "completed": "appointment.completed",
    "no_show": "appointment.no_show",
}

ENQUEUE = (
    "INSERT INTO outbox (organisation_id, event_type, appointment_id, data) VALUES ($1, $2, $3, $4)"
    " RETURNING id, message_id"
)
NOTIFY = "SELECT pg_notify($1, $2)"
# The oldest rows nobody has expanded yet; rows another worker is expanding are skipped.
CLAIM_UNEXPANDED = (
    "SELECT id, message_id, organisation_id, event_type, appointment_id, data, created_at FROM outbox"
    " WHERE expanded_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
)
MARK_EXPANDED = "UPDATE outbox SET expanded_at = now() WHERE id = ANY($1::bigint[])"
INSERT_DELIVERY = (
    "INSERT INTO deliveries (outbox_id, organisation_id, channel, recipient, target, webhook_id)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (outbox_id, channel, target) DO NOTHING"
)
# Due deliveries, each taken under a lease; attempts count from the claim, so a worker that dies
# mid-send still used one.
CLAIM_DUE = (
    "UPDATE deliveries d SET locked_until = now() + make_interval(secs => $2), attempts = d.attempts + 1,"
    " updated_at = now()"
    " FROM outbox o"
    " WHERE d.outbox_id = o.id AND d.id IN ("
    "   SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now()"
    "   AND (locked_until IS NULL OR locked_until <= now())"
    "   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING d.id, d.outbox_id, d.organisation_id, d.channel, d.recipient, d.target, d.webhook_id,"
    " d.attempts, o.message_id, o.event_type, o.appointment_id, o.data, o.created_at AS occurred_at"
)
# Each outcome is written only by the lease's holder: a worker whose lease lapsed (it stalled,
# another took over) changes nothing.
FINISH = (
    "UPDATE deliveries SET status = $3, last_status_code = $4, last_error = $5, locked_until = NULL,"
    " delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END,"
    " next_attempt_at = coalesce(now() + make_interval(secs => $6), next_attempt_at), updated_at = now()"
    " WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING id"
)
NEXT_DUE = "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One outbox row: something that happened, to be told."""

    id: int
    message_id: uuid.UUID
    organisation_id: uuid.UUID
    event_type: str
    appointment_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime


class Target(msgspec.Struct, frozen=True):
    """Where one delivery of a message goes."""

    channel: str
    recipient: str
    target: str
    webhook_id: uuid.UUID | None = None


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One claimed delivery, with what its message says."""

    id: uuid.UUID
    outbox_id: int
    organisation_id: uuid.UUID
    channel: str
    recipient: str
    target: str
    webhook_id: uuid.UUID | None
    attempts: int
    message_id: uuid.UUID
    event_type: str
    appointment_id: uuid.UUID | None
    data: dict[str, Any]
    occurred_at: datetime


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def snapshot(a: Appointment) -> dict[str, Any]:
    """An appointment as a message tells it: as it was at the change, in UTC, never the room."""
    return {
        "id": str(a.id),
        "organisation_id": str(a.organisation_id),
        "doctor_id": str(a.doctor_id),
        "appointment_type_id": str(a.appointment_type_id),
        "patient": {
            "name": a.patient_name,
            "email": a.patient_email,
            "phone": a.patient_phone,
            "timezone": a.patient_timezone,
        },
        "start": _iso(a.starts_at),
        "end": _iso(a.ends_at),
        "status": a.status,
        "previous_appointment_id": str(a.previous_appointment_id) if a.previous_appointment_id else None,
        "cancellation": a.cancellation,
        "reschedule_count": a.reschedule_count,
        "payment": a.payment,
        "created_by": a.created_by,
        "notice_overridden": a.notice_overridden,
        "notice_overridden_by": a.notice_overridden_by,
        "created_at": _iso(a.created_at),
        "updated_at": _iso(a.updated_at),
    }


async def enqueue(
    db: Conn,
    organisation_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    appointment_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write one outbox row (inside the transaction of the change it tells) and wake the workers.

    ``pg_notify`` inside a transaction is delivered at commit, and not at all on rollback.

    Returns:
        The message id: the same for every delivery and retry of this message.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    row = await db.fetchrow(ENQUEUE, organisation_id, event_type, appointment_id, data)
    assert row is not None
    await db.execute(NOTIFY, CHANNEL, str(row["id"]))
    message_id: uuid.UUID = row["message_id"]
    return message_id


async def appointment_changed(
    db: Conn,
    a: Appointment,
    event_type: str,
    *,
    from_status: str | None,
    actor: str,
    reason: str | None = None,
) -> uuid.UUID:
    """The outbox row of one appointment change: the appointment as it is now, and the change."""
    change = {"from": from_status, "to": a.status, "actor": actor, "reason": reason}
    return await enqueue(
        db, a.organisation_id, event_type, {"appointment": snapshot(a), "change": change}, appointment_id=a.id
    )


async def claim_unexpanded(db: Conn, limit: int) -> list[Message]:
    """Lock up to ``limit`` rows no one has expanded (inside a transaction; others skip them)."""
    return [from_record(Message, r) for r in await db.fetch(CLAIM_UNEXPANDED, limit)]


async def add_deliveries(db: Conn, message: Message, targets: list[Target]) -> None:
    """Record a message's deliveries (inside the expanding transaction); a repeat adds nothing."""
    if targets:
        await db.executemany(
            INSERT_DELIVERY,
            [(message.id, message.organisation_id, t.channel, t.recipient, t.target, t.webhook_id) for t in targets],
        )


async def mark_expanded(db: Conn, ids: list[int]) -> None:
    await db.execute(MARK_EXPANDED, ids)


async def claim_due(db: Conn, limit: int, lease_seconds: float) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for ``lease_seconds`` (no one else sends them meanwhile)."""
    return [from_record(Delivery, r) for r in await db.fetch(CLAIM_DUE, limit, lease_seconds)]


async def finish(
    db: Conn,
    delivery: Delivery,
    status: str,
    *,
    status_code: int | None = None,
    error: str | None = None,
    retry_in: float | None = None,
) -> bool:
    """Record a claimed delivery's outcome: ``delivered``, ``pending`` (retry in ``retry_in`` s),
    ``failed`` or ``dead``.

    Returns:
        ``False`` when the lease had lapsed and someone else holds the delivery now (nothing written).
    """
    row = await db.fetchrow(
        FINISH, delivery.id, delivery.attempts, status, status_code, error[:1000] if error else None, retry_in
    )
    return row is not None


async def next_due(db: Conn) -> datetime | None:
    """When the earliest pending delivery falls due (``None``: nothing pending)."""
    moment: datetime | None = await db.fetchval(NEXT_DUE)
    return moment
