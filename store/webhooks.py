"""Webhook subscriptions (Standard Webhooks) and their deliveries' log.

A subscription belongs to one organisation and names the event types it wants. Its secret is
stored sealed (the caller encrypts; this module never sees it in clear). Deleting is soft: the
row stays for its deliveries' log, no new delivery is made for it. A subscription that keeps
failing is disabled here, together with the ``webhook.disabled`` outbox row that tells its
organisation's admins, in the transaction of the failure that decided it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from store import outbox
from store.models import from_record
from store.types import Conn

MAX_PER_ORGANISATION = 20
"""Live (not deleted) subscriptions one organisation may have: each message fans out to all of them."""


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    event_types: list[str]
    headers: dict[str, str]
    description: str | None
    secret_ciphertext: bytes
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class DeliveryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery of one message to one subscription, as its log shows it."""

    id: uuid.UUID
    outbox_id: int
    event_type: str
    message_id: uuid.UUID
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


class DeliveryOwner(msgspec.Struct, frozen=True, kw_only=True):
    """Whose a webhook delivery is (to authorise a replay)."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    organisation_id: uuid.UUID


# The subscription count is checked in the insert itself; two racing inserts may both pass,
# which only lets an organisation end one over the limit.
INSERT = (
    "INSERT INTO webhooks (id, organisation_id, url, event_types, headers, description, secret_ciphertext)"
    " SELECT $1, $2, $3, $4, $5, $6, $7"
    " WHERE (SELECT count(*) FROM webhooks WHERE organisation_id = $2 AND deleted_at IS NULL) < $8"
    " RETURNING *"
)
GET = "SELECT * FROM webhooks WHERE id = $1 AND deleted_at IS NULL"
LIST = "SELECT * FROM webhooks WHERE organisation_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
# enabled: true clears the failure record and the reason; false records the admin as the reason.
UPDATE = (
    "UPDATE webhooks SET url = coalesce($3, url), event_types = coalesce($4, event_types),"
    " headers = coalesce($5, headers), description = CASE WHEN $6 THEN $7 ELSE description END,"
    " enabled = coalesce($8, enabled),"
    " disabled_reason = CASE WHEN $8 IS TRUE THEN NULL WHEN $8 IS FALSE AND enabled THEN $9"
    "   ELSE disabled_reason END,"
    " failing_since = CASE WHEN $8 IS TRUE THEN NULL ELSE failing_since END,"
    " updated_at = now()"
    " WHERE id = $1 AND organisation_id = $2 AND deleted_at IS NULL RETURNING *"
)
DELETE = (
    "UPDATE webhooks SET deleted_at = now(), enabled = false, updated_at = now()"
    " WHERE id = $1 AND organisation_id = $2 AND deleted_at IS NULL RETURNING id"
)
TARGETS = (
    "SELECT id FROM webhooks WHERE organisation_id = $1 AND enabled AND deleted_at IS NULL"
    " AND $2 = ANY(event_types) ORDER BY created_at, id"
)
FOR_SEND = "SELECT * FROM webhooks WHERE id = $1"
SUCCEEDED = "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL"
FAILED = (
    "UPDATE webhooks SET failing_since = coalesce(failing_since, now())"
    " WHERE id = $1 AND enabled AND deleted_at IS NULL RETURNING failing_since"
)
# Only one of several racing failures disables (``AND enabled``): one webhook.disabled row.
DISABLE = (
    "UPDATE webhooks SET enabled = false, disabled_reason = $2, updated_at = now()"
    " WHERE id = $1 AND enabled AND deleted_at IS NULL"
    " AND ($3::float8 IS NULL OR failing_since <= now() - make_interval(secs => $3))"
    " RETURNING *"
)
# Newest first; within one expanding transaction (one created_at) by message, newest first.
# One subscription has one delivery per message, so (created_at, outbox_id) orders them fully.
DELIVERIES_PAGE = (
    "SELECT d.id, d.outbox_id, o.event_type, o.message_id, d.status, d.attempts, d.last_status_code,"
    " d.last_error, d.next_attempt_at, d.created_at, d.delivered_at"
    " FROM deliveries d JOIN outbox o ON o.id = d.outbox_id"
    " WHERE d.webhook_id = $1 AND ($2::timestamptz IS NULL OR (d.created_at, d.outbox_id) < ($2, $3))"
    " ORDER BY d.created_at DESC, d.outbox_id DESC LIMIT $4"
)
DELIVERY_OWNER = (
    "SELECT d.id, d.webhook_id, w.organisation_id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.id = $1 AND d.channel = 'webhook' AND w.deleted_at IS NULL"
)
# Due now; when an attempt holds the lease, it is left to finish and the replay follows it
# (``settle_replay``): overwriting the row now would let that attempt's outcome erase the replay.
REPLAY = (
    "UPDATE deliveries SET status = 'pending', next_attempt_at = now(),"
    " replay_requested = (locked_until IS NOT NULL AND locked_until > now()), updated_at = now()"
    " WHERE id = $1 AND channel = 'webhook' RETURNING replay_requested"
)
SETTLE_REPLAY = (
    "UPDATE deliveries SET replay_requested = false, status = 'pending', next_attempt_at = now(), updated_at = now()"
    " WHERE id = $1 AND replay_requested RETURNING id"
)


async def create(
    db: Conn,
    webhook_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    url: str,
    event_types: list[str],
    headers: dict[str, str],
    description: str | None,
    secret_ciphertext: bytes,
) -> Webhook | None:
    """A new subscription (``None``: the organisation has ``MAX_PER_ORGANISATION`` already)."""
    row = await db.fetchrow(
        INSERT,
        webhook_id,
        organisation_id,
        url,
        event_types,
        headers,
        description,
        secret_ciphertext,
        MAX_PER_ORGANISATION,
    )
    return from_record(Webhook, row) if row else None


async def get(db: Conn, webhook_id: uuid.UUID) -> Webhook | None:
    """A subscription that is not deleted."""
    row = await db.fetchrow(GET, webhook_id)
    return from_record(Webhook, row) if row else None


async def list_for(db: Conn, organisation_id: uuid.UUID) -> list[Webhook]:
    return [from_record(Webhook, r) for r in await db.fetch(LIST, organisation_id)]


async def update(
    db: Conn,
    webhook_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    headers: dict[str, str] | None = None,
    description: tuple[str | None] | None = None,
    enabled: bool | None = None,
    disabled_reason: str = "disabled by an admin",
) -> Webhook | None:
    """Change what is given (``description``: a 1-tuple, since ``None`` is a value to set)."""
    row = await db.fetchrow(
        UPDATE,
        webhook_id,
        organisation_id,
        url,
        event_types,
        headers,
        description is not None,
        description[0] if description is not None else None,
        enabled,
        disabled_reason,
    )
    return from_record(Webhook, row) if row else None


async def delete(db: Conn, webhook_id: uuid.UUID, organisation_id: uuid.UUID) -> bool:
    """Soft-delete: no new deliveries; pending ones end ``dead`` when next attempted."""
    return await db.fetchrow(DELETE, webhook_id, organisation_id) is not None


async def targets(db: Conn, organisation_id: uuid.UUID, event_type: str) -> list[uuid.UUID]:
    """The enabled subscriptions of the organisation that want ``event_type``."""
    return [r["id"] for r in await db.fetch(TARGETS, organisation_id, event_type)]


async def for_send(db: Conn, webhook_id: uuid.UUID) -> Webhook | None:
    """A subscription as it is now, deleted or not (the sender decides)."""
    row = await db.fetchrow(FOR_SEND, webhook_id)
    return from_record(Webhook, row) if row else None


async def succeeded(db: Conn, webhook_id: uuid.UUID) -> None:
    await db.execute(SUCCEEDED, webhook_id)


async def failed(db: Conn, webhook_id: uuid.UUID) -> datetime | None:
    """Record a failure: the subscription is failing since now, unless it already was.

    Returns:
        Since when it fails (``None``: it is disabled or deleted, nothing recorded).
    """
    since: datetime | None = await db.fetchval(FAILED, webhook_id)
    return since


async def disable(db: Conn, webhook_id: uuid.UUID, reason: str, *, failing_for: float | None = None) -> Webhook | None:
    """Disable an enabled subscription and tell its organisation's admins (``webhook.disabled``),
    inside the caller's transaction.

    Args:
        failing_for: disable only when it has been failing for at least this many seconds.

    Returns:
        The subscription, when this call disabled it (``None``: it was not due, or not enabled).
    """
    row = await db.fetchrow(DISABLE, webhook_id, reason, failing_for)
    if row is None:
        return None
    hook = from_record(Webhook, row)
    told = {"id": str(hook.id), "url": hook.url, "description": hook.description, "disabled_reason": reason}
    await outbox.enqueue(db, hook.organisation_id, "webhook.disabled", {"webhook": told})
    return hook


async def deliveries(
    db: Conn, webhook_id: uuid.UUID, *, after: tuple[datetime, int] | None, limit: int
) -> list[DeliveryRecord]:
    """Up to ``limit`` deliveries of the subscription, newest first, after the cursor ``after``."""
    created, outbox_id = after if after is not None else (None, None)
    rows = await db.fetch(DELIVERIES_PAGE, webhook_id, created, outbox_id, limit)
    return [from_record(DeliveryRecord, r) for r in rows]


async def delivery_owner(db: Conn, delivery_id: uuid.UUID) -> DeliveryOwner | None:
    """The subscription and organisation of a webhook delivery (``None``: none, or deleted)."""
    row = await db.fetchrow(DELIVERY_OWNER, delivery_id)
    return from_record(DeliveryOwner, row) if row else None


async def replay(db: Conn, delivery_id: uuid.UUID) -> bool:
    """Make a delivery due again now (after the attempt under way, if any) and wake the workers.

    Returns:
        Whether an attempt was under way (the replay then follows it).
    """
    busy: Any = await db.fetchval(REPLAY, delivery_id)
    await db.execute(outbox.NOTIFY, outbox.CHANNEL, "replay")
    return bool(busy)


async def settle_replay(db: Conn, delivery_id: uuid.UUID) -> bool:
    """After an attempt's outcome is recorded: a replay asked for meanwhile makes it due again."""
    if await db.fetchval(SETTLE_REPLAY, delivery_id) is None:
        return False
    await db.execute(outbox.NOTIFY, outbox.CHANNEL, "replay")
    return True
