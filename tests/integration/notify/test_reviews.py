"""Reviews: the appointment's patient rates it once it is completed, once; a low rating alerts the
admins, in the review's own transaction; nobody else reviews, and tenants never see each other's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book
from tests.support import Clinic, make_clinic, notify_settings, patient, sql

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No worker: the outbox rows stay as the review wrote them."""
    return notify_settings(settings)


async def began(settings: Settings, appointment_id: str, ago: timedelta) -> None:
    """The appointment started ``ago`` (time passes: the API books only the future)."""
    start = datetime.now(UTC) - ago
    await sql(
        settings,
        "UPDATE appointments SET starts_at = $2, ends_at = $3, blocked_until = $3 WHERE id = $1",
        uuid.UUID(appointment_id),
        start,
        start + timedelta(minutes=30),
    )


async def completed(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str], who: dict[str, str], hours_ago: int = 1
) -> dict[str, Any]:
    """An appointment of ``who`` that took place ``hours_ago`` and was marked completed by the clinic."""
    a = await book(client, clinic, clinic.at(3, 8 + hours_ago), who)
    await began(settings, a["id"], timedelta(hours=hours_ago))
    r = await client.post(f"/v1/appointments/{a['id']}/complete", json={}, headers=admin)
    assert r.status_code == 200, r.text
    return a


def review_of(a: dict[str, Any]) -> str:
    return f"/v1/appointments/{a['id']}/review"


async def messages(settings: Settings) -> list[asyncpg.Record]:
    return await sql(
        settings,
        "SELECT event_type, appointment_id, data, xmin::text AS tx FROM outbox"
        " WHERE event_type LIKE 'review.%' ORDER BY id",
    )


async def test_the_patient_reviews_a_completed_appointment_once(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    r = await client.post(review_of(a), json={"rating": 4, "comment": "  Kind and on time.  "}, headers=me)
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["appointment_id"] == a["id"] and review["doctor_id"] == clinic.doctor_id
    assert (review["rating"], review["comment"]) == (4, "Kind and on time.")
    assert review["created_at"].endswith("Z")
    again = await client.post(review_of(a), json={"rating": 1}, headers=me)
    assert again.status_code == 409 and again.json()["code"] == "already_reviewed"
    # the patient, the doctor's organisation and the platform read it; it is the first one still
    assert (await client.get(review_of(a), headers=me)).json() == review
    assert (await client.get(review_of(a), headers=admin)).json() == review

    (created,) = await messages(settings)  # 4 is above the default threshold (2): no alert
    assert created["event_type"] == "review.created" and str(created["appointment_id"]) == a["id"]
    assert created["data"]["review"] == {
        "appointment_id": a["id"],
        "doctor_id": clinic.doctor_id,
        "rating": 4,
        "comment": "Kind and on time.",
        "created_at": review["created_at"],
    }
    assert created["data"]["appointment"]["id"] == a["id"]
    assert created["data"]["appointment"]["status"] == "completed"


async def test_several_reviews_at_once_make_one(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    answers = await asyncio.gather(
        *(client.post(review_of(a), json={"rating": 1 + i % 5}, headers=me) for i in range(6))
    )
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5
    assert len(await sql(settings, "SELECT 1 FROM reviews")) == 1
    assert [m["event_type"] for m in await messages(settings)].count("review.created") == 1


async def test_not_before_the_appointment_is_completed(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    upcoming = await book(client, clinic, clinic.at(3, 9), me)
    r = await client.post(review_of(upcoming), json={"rating": 5}, headers=me)
    assert r.status_code == 409 and r.json()["code"] == "not_completed"
    assert r.json()["current_status"] == "confirmed"
    cancelled = await book(client, clinic, clinic.at(3, 10), me)
    await client.post(f"/v1/appointments/{cancelled['id']}/cancel", json={"reason": "better"}, headers=me)
    r = await client.post(review_of(cancelled), json={"rating": 5}, headers=me)
    assert r.status_code == 409 and r.json()["code"] == "not_completed"
    missed = await book(client, clinic, clinic.at(3, 11), me)
    await began(settings, missed["id"], timedelta(hours=3))
    assert (await client.post(f"/v1/appointments/{missed['id']}/no-show", json={}, headers=admin)).status_code == 200
    r = await client.post(review_of(missed), json={"rating": 5}, headers=me)
    assert r.status_code == 409 and r.json()["code"] == "not_completed"
    assert await sql(settings, "SELECT 1 FROM reviews") == []
    assert await messages(settings) == []
    r = await client.get(review_of(upcoming), headers=me)
    assert r.status_code == 404 and r.json()["code"] == "not_reviewed"


async def test_a_low_rating_alerts_in_the_reviews_own_transaction(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    low = await completed(client, clinic, settings, admin, me, hours_ago=1)
    r = await client.post(review_of(low), json={"rating": 2, "comment": "Waited long."}, headers=me)  # default 2
    assert r.status_code == 201, r.text
    created, alert = await messages(settings)
    assert (created["event_type"], alert["event_type"]) == ("review.created", "review.low_rating")
    assert alert["data"] == created["data"]
    assert alert["data"]["review"]["rating"] == 2
    review_tx = await sql(settings, "SELECT xmin::text FROM reviews WHERE appointment_id = $1", uuid.UUID(low["id"]))
    assert created["tx"] == alert["tx"] == review_tx[0][0], "one transaction: the review and both messages"

    # the organisation's threshold decides: 4 makes a 4 low, 0 makes nothing low
    await sql(
        settings, "UPDATE organisations SET low_rating_threshold = 4 WHERE id = $1", uuid.UUID(clinic.organisation_id)
    )
    four = await completed(client, clinic, settings, admin, me, hours_ago=2)
    assert (await client.post(review_of(four), json={"rating": 4}, headers=me)).status_code == 201
    five = await completed(client, clinic, settings, admin, me, hours_ago=3)
    assert (await client.post(review_of(five), json={"rating": 5}, headers=me)).status_code == 201
    await sql(
        settings, "UPDATE organisations SET low_rating_threshold = 0 WHERE id = $1", uuid.UUID(clinic.organisation_id)
    )
    one = await completed(client, clinic, settings, admin, me, hours_ago=4)
    assert (await client.post(review_of(one), json={"rating": 1}, headers=me)).status_code == 201
    told = [(str(m["appointment_id"]), m["event_type"]) for m in await messages(settings)]
    assert told[2:] == [
        (four["id"], "review.created"),
        (four["id"], "review.low_rating"),
        (five["id"], "review.created"),
        (one["id"], "review.created"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0},
        {"rating": 6},
        {"rating": 3.5},
        {"rating": True},
        {},
        {"rating": 3, "comment": "x" * 2001},
        {"rating": 3, "stars": 3},
    ],
)
async def test_a_bad_review_is_refused_and_nothing_is_written(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str], body: dict[str, Any]
) -> None:
    me = await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    r = await client.post(review_of(a), json=body, headers=me)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert await sql(settings, "SELECT 1 FROM reviews") == []
    # the longest comment allowed, and a blank one (kept as none), pass
    r = await client.post(review_of(a), json={"rating": 3, "comment": "x" * 2000}, headers=me)
    assert r.status_code == 201, r.text


async def test_a_blank_comment_is_no_comment_and_a_nul_is_refused(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    r = await client.post(review_of(a), json={"rating": 5, "comment": "fine\u0000"}, headers=me)
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"  # Postgres keeps no NUL
    assert await messages(settings) == []
    r = await client.post(review_of(a), json={"rating": 5, "comment": "   "}, headers=me)
    assert r.status_code == 201 and r.json()["comment"] is None


async def test_only_the_appointments_patient_reviews_it(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    me, someone = await patient(client, clinic), await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    r = await client.post(review_of(a), json={"rating": 1}, headers=someone)
    assert r.status_code == 404  # another patient: no such appointment
    assert (await client.get(review_of(a), headers=someone)).status_code == 404
    r = await client.post(review_of(a), json={"rating": 5}, headers=admin)
    assert r.status_code == 403 and r.json()["code"] == "patients_only"  # staff see it, may not rate it
    key = (await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin)).json()["token"]
    doctor = {"Authorization": f"Bearer {key}"}
    r = await client.post(review_of(a), json={"rating": 5}, headers=doctor)
    assert r.status_code == 403 and r.json()["code"] == "patients_only"
    assert (await client.post(review_of(a), json={"rating": 5})).status_code == 401
    assert await sql(settings, "SELECT 1 FROM reviews") == []
    assert (await client.post(review_of(a), json={"rating": 3}, headers=me)).status_code == 201
    # its doctor reads it
    assert (await client.get(review_of(a), headers=doctor)).json()["rating"] == 3
    missing = {"id": str(uuid.uuid4())}
    assert (await client.post(review_of(missing), json={"rating": 3}, headers=me)).status_code == 404


async def org_admin(client: Client, admin: dict[str, str], organisation_id: str) -> dict[str, str]:
    r = await client.post(f"/v1/admin/organisations/{organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def test_tenants_never_see_each_others_reviews(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    other = await make_clinic(client, admin)
    ours, theirs = (
        await org_admin(client, admin, clinic.organisation_id),
        await org_admin(client, admin, other.organisation_id),
    )
    me = await patient(client, clinic)
    a = await completed(client, clinic, settings, admin, me)
    assert (await client.post(review_of(a), json={"rating": 2}, headers=me)).status_code == 201
    stranger = await patient(client, other)  # a patient of the other organisation
    assert (await client.post(review_of(a), json={"rating": 5}, headers=stranger)).status_code == 404
    assert (await client.get(review_of(a), headers=theirs)).status_code == 404
    assert (await client.get(review_of(a), headers=ours)).status_code == 200
    r = await client.get(f"/v1/admin/organisations/{clinic.organisation_id}/reviews", headers=theirs)
    assert r.status_code == 403
    assert (await client.get(f"/v1/admin/organisations/{other.organisation_id}/reviews", headers=theirs)).json() == {
        "items": [],
        "next_cursor": None,
    }
    listed = (await client.get(f"/v1/admin/organisations/{clinic.organisation_id}/reviews", headers=ours)).json()
    assert [i["appointment_id"] for i in listed["items"]] == [a["id"]]


async def test_admins_page_through_their_reviews_newest_first(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(client, admin)
    second_doctor = (
        await client.post(
            "/v1/admin/doctors",
            json={"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": "Europe/Berlin"},
            headers=admin,
        )
    ).json()["id"]
    me = await patient(client, clinic)
    reviewed = []
    for hours in (1, 2, 3):
        a = await completed(client, clinic, settings, admin, me, hours_ago=hours)
        assert (await client.post(review_of(a), json={"rating": hours}, headers=me)).status_code == 201
        reviewed.append(a["id"])
    await sql(
        settings,
        "UPDATE reviews SET doctor_id = $1 WHERE appointment_id = $2",
        uuid.UUID(second_doctor),
        uuid.UUID(reviewed[1]),
    )
    base = f"/v1/admin/organisations/{clinic.organisation_id}/reviews"
    first = (await client.get(f"{base}?limit=2", headers=admin)).json()
    assert [i["appointment_id"] for i in first["items"]] == [reviewed[2], reviewed[1]]
    rest = (await client.get(f"{base}?limit=2&cursor={first['next_cursor']}", headers=admin)).json()
    assert [i["appointment_id"] for i in rest["items"]] == [reviewed[0]] and rest["next_cursor"] is None
    mine = (await client.get(f"{base}?doctor_id={clinic.doctor_id}", headers=admin)).json()
    assert [i["appointment_id"] for i in mine["items"]] == [reviewed[2], reviewed[0]]
    for query, code in (
        ("limit=0", "validation_error"),
        ("limit=51", "validation_error"),
        ("cursor=nope", "invalid_cursor"),
    ):
        r = await client.get(f"{base}?{query}", headers=admin)
        assert r.status_code == 422 and r.json()["code"] == code, query
    unknown = await client.get(f"/v1/admin/organisations/{uuid.uuid4()}/reviews", headers=admin)
    assert unknown.status_code == 404


async def test_the_routes_are_in_the_openapi_document(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    review = paths["/v1/appointments/{appointment_id}/review"]
    assert review["post"]["summary"] == "Review a completed appointment"
    assert "get" in review
    assert "get" in paths["/v1/admin/organisations/{organisation_id}/reviews"]
