"""Reminders: the rules an organisation's admins set per appointment type, and the periodic claim.

Every worker runs :func:`claim_due_reminders` at its start and every ``GATEWAY_REMINDER_SECONDS``
(60 by default): a reminder is claimed at most that long after it falls due, once however many
processes run it at once, and one that fell due while every process was down goes out at the next
start if its appointment has not begun (``store/reminders.py`` says exactly when one is due).
"""

from __future__ import annotations

import logging
import uuid

from gateway.auth import Principal
from gateway.clinic.service import allow
from gateway.errors import Conflict, NotFound, ValidationFailed
from gateway.reminders import schemas
from store import clinic as clinic_repo
from store import reminders as repo
from store.errors import Duplicate
from store.models import AppointmentType
from store.reminders import NewRule, ReminderRule
from store.types import Conn, Pool

logger = logging.getLogger("gateway.reminders")

MAX_RULES_PER_TYPE = 10
"""Rules one appointment type may have: each is a message per appointment, and ten lead times and
recipients cover any clinic's practice."""
CLAIM_BATCH = 500
"""Reminders claimed per transaction; a backlog (after a long outage) drains in several."""


async def claim_due_reminders(db: Pool, *, batch: int = CLAIM_BATCH) -> int:
    """Claim every due reminder, one batch per transaction, until a pass finds none.

    Returns:
        How many reminders this call claimed (each one outbox row ``appointment.reminder``).
    """
    total = 0
    while True:
        async with db.acquire() as conn, conn.transaction():
            claimed = await repo.claim_due(conn, batch)
        total += claimed
        if claimed == 0:
            break
    if total:
        logger.info("reminders: claimed %d due reminder(s)", total)
    return total


async def managed_type(db: Conn, who: Principal, type_id: uuid.UUID) -> AppointmentType:
    """The appointment type, if ``who`` administers its organisation.

    Raises:
        NotFound: no such type, or one of an organisation ``who`` is not staff of.
        Forbidden: a doctor of the type's organisation.
    """
    found = await clinic_repo.get_type(db, type_id)
    if found is None or not who.is_staff_of(found.organisation_id):
        raise NotFound(f"Appointment type {type_id} not found.")
    allow(who.administers(found.organisation_id), "Only the organisation's admins may manage reminder rules.")
    return found


async def create_rule(db: Pool, who: Principal, type_id: uuid.UUID, body: schemas.ReminderRuleIn) -> ReminderRule:
    """Add a reminder rule to an appointment type.

    Raises:
        ValidationFailed: (``no_channel``) neither email nor SMS.
        Conflict: (``reminder_rule_exists``) the type reminds this recipient at this lead time
            already; (``too_many_reminder_rules``) the type has ``MAX_RULES_PER_TYPE`` rules.
    """
    appointment_type = await managed_type(db, who, type_id)
    if not (body.send_email or body.send_sms):
        raise ValidationFailed("A reminder rule sends by email, SMS or both.", code="no_channel")
    new = NewRule(
        organisation_id=appointment_type.organisation_id,
        appointment_type_id=appointment_type.id,
        recipient=body.recipient,
        minutes_before=body.minutes_before,
        send_email=body.send_email,
        send_sms=body.send_sms,
    )
    try:
        async with db.acquire() as conn, conn.transaction():
            return await repo.create_rule(conn, new, limit=MAX_RULES_PER_TYPE)
    except repo.TooManyRules:
        raise Conflict(
            f"An appointment type has {MAX_RULES_PER_TYPE} reminder rules at most; delete one first.",
            code="too_many_reminder_rules",
            limit=MAX_RULES_PER_TYPE,
        ) from None
    except Duplicate:
        raise Conflict(
            f"This type already reminds the {body.recipient} {body.minutes_before} minutes before;"
            " delete that rule to change its channels.",
            code="reminder_rule_exists",
        ) from None


async def list_rules(db: Conn, who: Principal, type_id: uuid.UUID) -> list[ReminderRule]:
    await managed_type(db, who, type_id)
    return await repo.list_rules(db, type_id)


async def delete_rule(db: Conn, who: Principal, type_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    await managed_type(db, who, type_id)
    if not await repo.delete_rule(db, type_id, rule_id):
        raise NotFound(f"Reminder rule {rule_id} not found for appointment type {type_id}.")
