"""Reminder rules per appointment type: made, listed and removed by the type's organisation admins."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from store import reminders
from store.pool import connect_one
from tests.support import Clinic, make_clinic, notify_settings, patient

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No worker: these tests are about the rules, not what they make."""
    return notify_settings(settings)


def rules_of(type_id: str) -> str:
    return f"/v1/admin/appointment-types/{type_id}/reminder-rules"


async def org_admin(client: Client, admin: dict[str, str], organisation_id: str) -> dict[str, str]:
    r = await client.post(f"/v1/admin/organisations/{organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def doctor_of(client: Client, who: dict[str, str], doctor_id: str) -> dict[str, str]:
    r = await client.post(f"/v1/admin/doctors/{doctor_id}/credentials", headers=who)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_an_organisation_admin_adds_lists_and_removes_rules(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    mine = await org_admin(client, admin, clinic.organisation_id)
    r = await client.post(rules_of(clinic.type_30), json={"recipient": "patient", "minutes_before": 1440}, headers=mine)
    assert r.status_code == 201, r.text
    day = r.json()
    assert {k: v for k, v in day.items() if k not in ("id", "created_at")} == {
        "organisation_id": clinic.organisation_id,
        "appointment_type_id": clinic.type_30,
        "recipient": "patient",
        "minutes_before": 1440,
        "send_email": True,
        "send_sms": False,
    }
    body = {"recipient": "doctor", "minutes_before": 15, "send_email": False, "send_sms": True}
    r = await client.post(rules_of(clinic.type_30), json=body, headers=admin)  # the platform operator too
    assert r.status_code == 201, r.text
    soon = r.json()
    assert (soon["send_email"], soon["send_sms"]) == (False, True)

    listed = await client.get(rules_of(clinic.type_30), headers=mine)
    assert listed.status_code == 200
    assert [rule["id"] for rule in listed.json()] == [day["id"], soon["id"]]  # the earliest reminder first
    assert (await client.get(rules_of(clinic.type_60), headers=mine)).json() == []  # per type

    r = await client.delete(f"{rules_of(clinic.type_30)}/{day['id']}", headers=mine)
    assert r.status_code == 204
    assert [rule["id"] for rule in (await client.get(rules_of(clinic.type_30), headers=mine)).json()] == [soon["id"]]
    again = await client.delete(f"{rules_of(clinic.type_30)}/{day['id']}", headers=mine)
    assert again.status_code == 404 and again.json()["code"] == "not_found"
    # a rule is removed only under its own type
    other_type = await client.delete(f"{rules_of(clinic.type_60)}/{soon['id']}", headers=mine)
    assert other_type.status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"recipient": "patient", "minutes_before": 0}, "validation_error"),
        ({"recipient": "patient", "minutes_before": 43201}, "validation_error"),
        ({"recipient": "patient", "minutes_before": -5}, "validation_error"),
        ({"recipient": "patient", "minutes_before": 60.5}, "validation_error"),
        ({"recipient": "everyone", "minutes_before": 60}, "validation_error"),
        ({"minutes_before": 60}, "validation_error"),
        ({"recipient": "patient", "minutes_before": 60, "send_fax": True}, "validation_error"),
        ({"recipient": "patient", "minutes_before": 60, "send_email": False}, "no_channel"),
        ({"recipient": "patient", "minutes_before": 60, "send_email": False, "send_sms": False}, "no_channel"),
    ],
)
async def test_bad_rules_are_refused_with_a_code(
    client: Client, clinic: Clinic, admin: dict[str, str], body: dict[str, Any], code: str
) -> None:
    r = await client.post(rules_of(clinic.type_30), json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert (await client.get(rules_of(clinic.type_30), headers=admin)).json() == []


async def test_the_bounds_themselves_are_accepted(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    for minutes in (1, 43200):
        r = await client.post(
            rules_of(clinic.type_30), json={"recipient": "admins", "minutes_before": minutes}, headers=admin
        )
        assert r.status_code == 201, r.text


async def test_one_rule_per_recipient_and_lead_time(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    body = {"recipient": "patient", "minutes_before": 60}
    assert (await client.post(rules_of(clinic.type_30), json=body, headers=admin)).status_code == 201
    r = await client.post(rules_of(clinic.type_30), json=body | {"send_sms": True}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "reminder_rule_exists"
    for other in ({"recipient": "doctor", "minutes_before": 60}, {"recipient": "patient", "minutes_before": 61}):
        assert (await client.post(rules_of(clinic.type_30), json=other, headers=admin)).status_code == 201
    assert (await client.post(rules_of(clinic.type_60), json=body, headers=admin)).status_code == 201


async def test_at_most_ten_rules_per_type_even_when_added_at_once(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    async def add(minutes: int) -> int:
        r = await client.post(
            rules_of(clinic.type_30), json={"recipient": "patient", "minutes_before": minutes}, headers=admin
        )
        if r.status_code == 409:
            assert r.json()["code"] == "too_many_reminder_rules"
        return r.status_code

    statuses = await asyncio.gather(*(add(m) for m in range(1, 16)))
    assert sorted(statuses) == [201] * 10 + [409] * 5
    assert len((await client.get(rules_of(clinic.type_30), headers=admin)).json()) == 10
    # room again once one is removed
    first = (await client.get(rules_of(clinic.type_30), headers=admin)).json()[0]
    assert (await client.delete(f"{rules_of(clinic.type_30)}/{first['id']}", headers=admin)).status_code == 204
    assert await add(100) == 201


async def test_the_limit_holds_between_transactions_that_count_at_once(clinic: Clinic, settings: Settings) -> None:
    """Fifteen transactions, each on its own connection, all counting before any commits: without the
    lock on the type, every one would see room for itself."""
    conns = [await connect_one(settings.database) for _ in range(15)]
    try:

        async def add(conn: Any, minutes: int) -> bool:
            async with conn.transaction():
                try:
                    await reminders.create_rule(
                        conn,
                        reminders.NewRule(
                            organisation_id=uuid.UUID(clinic.organisation_id),
                            appointment_type_id=uuid.UUID(clinic.type_30),
                            recipient="patient",
                            minutes_before=minutes,
                        ),
                        limit=10,
                    )
                except reminders.TooManyRules:
                    return False
                await asyncio.sleep(0.05)  # commit late: the others have counted by now
                return True

        made = await asyncio.gather(*(add(conn, m) for m, conn in enumerate(conns, start=1)))
        assert made.count(True) == 10
        assert await conns[0].fetchval("SELECT count(*) FROM reminder_rules") == 10
    finally:
        for conn in conns:
            await conn.close()


async def test_only_the_types_own_admins_manage_its_rules(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    rule = (
        await client.post(rules_of(clinic.type_30), json={"recipient": "patient", "minutes_before": 60}, headers=admin)
    ).json()
    other = await make_clinic(client, admin)
    stranger = await org_admin(client, admin, other.organisation_id)
    doctor = await doctor_of(client, admin, clinic.doctor_id)
    me = await patient(client, clinic)
    body = {"recipient": "patient", "minutes_before": 30}
    # another organisation's admin, or a patient, is told nothing exists
    for who in (stranger, me):
        assert (await client.post(rules_of(clinic.type_30), json=body, headers=who)).status_code == 404
        assert (await client.get(rules_of(clinic.type_30), headers=who)).status_code == 404
        assert (await client.delete(f"{rules_of(clinic.type_30)}/{rule['id']}", headers=who)).status_code == 404
    # the type's own doctor sees it exists, but may not change it
    r = await client.post(rules_of(clinic.type_30), json=body, headers=doctor)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (await client.delete(f"{rules_of(clinic.type_30)}/{rule['id']}", headers=doctor)).status_code == 403
    assert (await client.post(rules_of(clinic.type_30), json=body)).status_code == 401
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.post(rules_of(missing), json=body, headers=admin)).status_code == 404
    assert [r["id"] for r in (await client.get(rules_of(clinic.type_30), headers=admin)).json()] == [rule["id"]]


async def test_the_routes_are_in_the_openapi_document(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    rules = paths["/v1/admin/appointment-types/{type_id}/reminder-rules"]
    assert {"get", "post"} <= set(rules)
    assert rules["post"]["summary"] == "Add a reminder rule"
    assert "delete" in paths["/v1/admin/appointment-types/{type_id}/reminder-rules/{rule_id}"]
