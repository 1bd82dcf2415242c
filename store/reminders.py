"""Reminder rules per appointment type, and the claim of due reminders (design invariant 9).

A reminder goes once per (appointment, rule): whoever inserts the pair into ``reminders_sent``
first writes the reminder's outbox row, in the same transaction, so any number of workers
claiming at once make one message, and a claim that rolls back leaves neither. The message then
reaches each of the rule's recipients once through the outbox's deliveries.

When a reminder is due: its appointment is ``confirmed`` and has not started, and its due time
(``starts_at - minutes_before``) has come. A reminder that fell due while no worker ran is still
claimed at the next start, as long as the appointment has not begun. It is never claimed when its
due time had already passed before the appointment was confirmed (booked, or approved) or before
the rule was made: a 24-hour reminder of an appointment booked two hours ahead would only repeat
the confirmation, and a new rule does not remind every appointment of the coming day at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from store import outbox
from store.errors import Duplicate
from store.models import Appointment, from_record
from store.types import Conn

# Held until the transaction ends: two rules added to one type at once are counted one after the
# other. NO KEY UPDATE leaves bookings alone (their foreign key takes KEY SHARE on the type).
LOCK_TYPE = "SELECT id FROM appointment_types WHERE id = $1 FOR NO KEY UPDATE"
COUNT_RULES = "SELECT count(*) FROM reminder_rules WHERE appointment_type_id = $1"
INSERT_RULE = (
    "INSERT INTO reminder_rules (organisation_id, appointment_type_id, recipient, minutes_before, send_email,"
    " send_sms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *"
)
LIST_RULES = "SELECT * FROM reminder_rules WHERE appointment_type_id = $1 ORDER BY minutes_before DESC, recipient, id"
DELETE_RULE = "DELETE FROM reminder_rules WHERE id = $1 AND appointment_type_id = $2 RETURNING id"
GET_RULES = "SELECT * FROM reminder_rules WHERE id = ANY($1::uuid[])"
GET_APPOINTMENTS = "SELECT * FROM appointments WHERE id = ANY($1::uuid[])"

# The claim, in one statement. Per rule, the type's confirmed appointments that have not started
# and whose due time has come, less the pairs claimed already. When the appointment was confirmed
# is its last move to ``confirmed`` in its history (an approval comes after the booking), else its
# creation. FOR SHARE: a cancel or move committing meanwhile is seen (the row is read again under
# the lock and then fails the status test), and one that comes after waits for this claim to
# commit; the delivery side checks again (``reminder_still_due``). A pair another worker is
# inserting makes this one wait for it and then skip the pair; the fixed order keeps two claims
# from waiting on each other. Ordered by rule first, so that each rule is one range scan of
# appointments_confirmed_type_start_idx over its own lead time: with 100,000 future appointments,
# a pass that finds nothing new took 3 ms, against 413 ms when ordered by start (a walk through
# every future appointment).
CLAIM_DUE = """
WITH due AS (
    SELECT a.id AS appointment_id, r.id AS rule_id
    FROM reminder_rules r
    JOIN appointments a
        ON a.appointment_type_id = r.appointment_type_id AND a.organisation_id = r.organisation_id
    WHERE a.status = 'confirmed'
        AND a.starts_at > now()
        AND a.starts_at <= now() + make_interval(mins => r.minutes_before)
        AND NOT EXISTS (SELECT 1 FROM reminders_sent s WHERE s.appointment_id = a.id AND s.rule_id = r.id)
        AND a.starts_at - make_interval(mins => r.minutes_before) >= greatest(
            r.created_at,
            coalesce(
                (SELECT max(e.at) FROM appointment_events e
                 WHERE e.appointment_id = a.id AND e.to_status = 'confirmed'),
                a.created_at
            )
        )
    ORDER BY r.id, a.starts_at, a.id
    LIMIT $1
    FOR SHARE OF a
)
INSERT INTO reminders_sent (appointment_id, rule_id)
SELECT appointment_id, rule_id FROM due
ON CONFLICT DO NOTHING
RETURNING appointment_id, rule_id
"""
SET_OUTBOX = (
    "UPDATE reminders_sent SET outbox_id = (SELECT id FROM outbox WHERE message_id = $3)"
    " WHERE appointment_id = $1 AND rule_id = $2"
)
STILL_DUE = (
    "SELECT EXISTS (SELECT 1 FROM appointments"
    " WHERE id = $1 AND status = 'confirmed' AND starts_at = $2 AND starts_at > now())"
)


class ReminderRule(msgspec.Struct, frozen=True, kw_only=True):
    """Remind ``recipient`` ``minutes_before`` each appointment of a type starts, by email and/or SMS."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    appointment_type_id: uuid.UUID
    recipient: str
    minutes_before: int
    send_email: bool
    send_sms: bool
    created_at: datetime


class NewRule(msgspec.Struct, frozen=True, kw_only=True):
    """What a new rule is made of (``create_rule``)."""

    organisation_id: uuid.UUID
    appointment_type_id: uuid.UUID
    recipient: str
    minutes_before: int
    send_email: bool = True
    send_sms: bool = False


class TooManyRules(Exception):
    """The type has as many rules as allowed already."""


async def create_rule(db: Conn, new: NewRule, *, limit: int) -> ReminderRule:
    """Add a rule to a type that has fewer than ``limit`` (call inside a transaction).

    Raises:
        TooManyRules: the type has ``limit`` rules already.
        Duplicate: the type has a rule for this recipient and lead time already.
    """
    await db.execute(LOCK_TYPE, new.appointment_type_id)
    # a statement of its own, after the lock: its snapshot sees every rule committed before it
    if await db.fetchval(COUNT_RULES, new.appointment_type_id) >= limit:
        raise TooManyRules(new.appointment_type_id)
    try:
        row = await db.fetchrow(
            INSERT_RULE,
            new.organisation_id,
            new.appointment_type_id,
            new.recipient,
            new.minutes_before,
            new.send_email,
            new.send_sms,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Duplicate(getattr(exc, "constraint_name", None)) from exc
    return from_record(ReminderRule, row)


async def list_rules(db: Conn, appointment_type_id: uuid.UUID) -> list[ReminderRule]:
    """A type's rules, the earliest reminder first."""
    return [from_record(ReminderRule, r) for r in await db.fetch(LIST_RULES, appointment_type_id)]


async def delete_rule(db: Conn, appointment_type_id: uuid.UUID, rule_id: uuid.UUID) -> bool:
    """Remove a rule: no reminder is claimed for it any more (its claims go with it).

    Returns:
        Whether the type had such a rule.
    """
    return await db.fetchrow(DELETE_RULE, rule_id, appointment_type_id) is not None


def reminder_data(a: Appointment, rule: ReminderRule) -> dict[str, Any]:
    """What an ``appointment.reminder`` message says: the appointment as it is, and the rule."""
    return {
        "appointment": outbox.snapshot(a),
        "reminder": {
            "rule_id": str(rule.id),
            "recipient": rule.recipient,
            "minutes_before": rule.minutes_before,
            "send_email": rule.send_email,
            "send_sms": rule.send_sms,
        },
    }


async def claim_due(db: Conn, limit: int) -> int:
    """Claim up to ``limit`` due reminders and write each one's outbox row (inside a transaction).

    Returns:
        How many this call claimed (pairs others claimed meanwhile are skipped, not counted).
    """
    claimed = [(r["appointment_id"], r["rule_id"]) for r in await db.fetch(CLAIM_DUE, limit)]
    if not claimed:
        return 0
    appointments = {
        a.id: a
        for a in (from_record(Appointment, r) for r in await db.fetch(GET_APPOINTMENTS, [a for a, _ in claimed]))
    }
    rules = {
        rule.id: rule
        for rule in (from_record(ReminderRule, r) for r in await db.fetch(GET_RULES, list({r for _, r in claimed})))
    }
    links = []
    for appointment_id, rule_id in claimed:
        a, rule = appointments[appointment_id], rules[rule_id]
        message_id = await outbox.enqueue(
            db, a.organisation_id, "appointment.reminder", reminder_data(a, rule), appointment_id=a.id
        )
        links.append((appointment_id, rule_id, message_id))
    await db.executemany(SET_OUTBOX, links)
    return len(claimed)


async def reminder_still_due(db: Conn, appointment_id: uuid.UUID, starts_at: datetime) -> bool:
    """Whether a claimed reminder should still go out: its appointment is still ``confirmed``, still
    starts at ``starts_at`` (the message's ``appointment.start``) and has not started.

    A cancel or move can commit after the claim wrote the message; the channels call this just
    before each attempt of an ``appointment.reminder`` delivery and drop the delivery when it says
    ``False``, e.g. ``reminder_still_due(db, delivery.appointment_id,
    datetime.fromisoformat(delivery.data["appointment"]["start"]))``.
    """
    due: bool = await db.fetchval(STILL_DUE, appointment_id, starts_at)
    return due
