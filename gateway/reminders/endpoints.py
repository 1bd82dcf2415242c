"""Routes of reminder rules. Thin: parse, authorise, call the service, answer."""

from __future__ import annotations

import uuid

from litestar import Router, delete, get, post
from litestar.params import FromPath, JSONBody

from gateway.deps import Caller, Db, Svc
from gateway.reminders import schemas, service
from store.reminders import ReminderRule

Id = FromPath[uuid.UUID]
RULES = "/v1/admin/appointment-types/{type_id:uuid}/reminder-rules"


@post(
    RULES,
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="Add a reminder rule",
    description=(
        "Remind the patient, the doctor or the organisation's admins ``minutes_before`` each appointment"
        " of this type starts (1 to 43200), by email and/or SMS; once per appointment and rule. The"
        " type's organisation admins (or the platform operator). 422 ``no_channel`` without email and"
        " SMS; 409 ``reminder_rule_exists`` for a second rule with the same recipient and lead time,"
        " ``too_many_reminder_rules`` beyond 10 per type. A reminder whose time had already passed when"
        " the appointment was booked (or approved), or when the rule was made, is not sent."
    ),
)
async def create_rule(svc: Svc, caller: Caller, type_id: Id, data: JSONBody[schemas.ReminderRuleIn]) -> ReminderRule:
    return await service.create_rule(svc.db, caller, type_id, data)


@get(
    RULES,
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="List an appointment type's reminder rules",
    description="The type's rules, the earliest reminder (largest ``minutes_before``) first.",
)
async def list_rules(db: Db, caller: Caller, type_id: Id) -> list[ReminderRule]:
    return await service.list_rules(db, caller, type_id)


@delete(
    f"{RULES}/{{rule_id:uuid}}",
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="Remove a reminder rule",
    description="No reminder is claimed for the rule any more; reminders already claimed still go out.",
)
async def delete_rule(db: Db, caller: Caller, type_id: Id, rule_id: Id) -> None:
    await service.delete_rule(db, caller, type_id, rule_id)


router = Router(path="/", route_handlers=[create_rule, list_rules, delete_rule])
