"""The routes the staff pages read: ``GET /v1/me``, an organisation's doctors and appointment
types, a doctor's date overrides (list and remove). Who may call each, and what they answer."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@dataclass
class World:
    clinic: Clinic
    other: Clinic
    second_doctor: str
    tokens: dict[str, Headers]


async def build(client: Client, admin: Headers) -> World:
    """Two organisations; the first has two doctors; a token of every kind."""
    clinic, other = await make_clinic(client, admin), await make_clinic(client, admin)
    tokens: dict[str, Headers] = {"anonymous": {}, "platform": admin}
    for name, c in (("admin", clinic), ("other_admin", other)):
        r = await client.post(f"/v1/admin/organisations/{c.organisation_id}/api-keys", headers=admin)
        tokens[name] = {"Authorization": f"Bearer {r.json()['key']}"}
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Another", "timezone": "UTC"},
        headers=tokens["admin"],
    )
    second = r.json()["id"]
    for name, doctor in (("doctor", clinic.doctor_id), ("other_doctor", second), ("foreign_doctor", other.doctor_id)):
        r = await client.post(f"/v1/admin/doctors/{doctor}/credentials", headers=admin)
        tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post(f"/v1/organisations/{clinic.organisation_id}/booking-secrets", headers=admin)
    now = int(time.time())
    partner = jwt.encode(
        {"sub": "p-1", "iat": now, "exp": now + 600},
        r.json()["secret"],
        algorithm="HS256",
        headers={"kid": r.json()["key_id"]},
    )
    tokens["partner"] = {"Authorization": f"Bearer {partner}"}
    tokens["patient"] = await patient(client, clinic)
    return World(clinic, other, second, tokens)


STAFF = {"platform", "admin", "doctor", "other_doctor"}
SCHEDULE = {"platform", "admin", "doctor"}


def expected(allowed: set[str], roles: dict[str, Headers], ok: int = 200) -> dict[str, int]:
    return {role: ok if role in allowed else 401 if role == "anonymous" else 403 for role in roles}


async def test_me_says_who_a_token_is(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    org = w.clinic.organisation_id
    want = {
        "platform": ("platform", None, None),
        "admin": ("admin", org, None),
        "doctor": ("doctor", org, w.clinic.doctor_id),
        "other_doctor": ("doctor", org, w.second_doctor),
        "patient": ("patient", org, None),
        "partner": ("patient", org, None),
    }
    for role, (kind, organisation, doctor) in want.items():
        r = await client.get("/v1/me", headers=w.tokens[role])
        assert r.status_code == 200, (role, r.text)
        assert r.json() == {"role": kind, "organisation_id": organisation, "doctor_id": doctor}, role
    r = await client.get("/v1/me")
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    r = await client.get("/v1/me", headers={"Authorization": "Bearer gd_no-such-credential"})
    assert (r.status_code, r.json()["code"]) == (401, "unknown_key")


async def test_only_the_organisations_staff_list_its_doctors_and_types(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    org = w.clinic.organisation_id
    want = expected(STAFF, w.tokens)
    failures = []
    for route in (f"/v1/organisations/{org}/doctors", f"/v1/organisations/{org}/appointment-types"):
        for role, headers in w.tokens.items():
            r = await client.get(route, headers=headers)
            if r.status_code != want[role]:
                failures.append(f"{route} as {role}: {r.status_code}, expected {want[role]}")
    assert not failures, "\n".join(failures)

    r = await client.get(f"/v1/organisations/{org}/doctors", headers=w.tokens["doctor"])
    assert [d["name"] for d in r.json()] == ["Dr. Another", "Dr. Test"]
    assert {d["id"] for d in r.json()} == {w.clinic.doctor_id, w.second_doctor}
    r = await client.get(f"/v1/organisations/{org}/appointment-types", headers=w.tokens["admin"])
    assert {t["id"] for t in r.json()} == {w.clinic.type_30, w.clinic.type_60}
    assert {t["duration_minutes"] for t in r.json()} == {30, 60}
    # a place that does not exist: 404 for the platform, 403 for anyone else
    nowhere = uuid.uuid4()
    assert (await client.get(f"/v1/organisations/{nowhere}/doctors", headers=admin)).status_code == 404
    r = await client.get(f"/v1/organisations/{nowhere}/doctors", headers=w.tokens["admin"])
    assert r.status_code == 403


async def test_date_overrides_are_listed_and_removed_by_the_doctor_and_admins(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    base = f"/v1/doctors/{w.clinic.doctor_id}/date-overrides"
    day = (datetime.now(ZoneInfo(w.clinic.timezone)) + timedelta(days=3)).date().isoformat()
    r = await client.post(base, json={"date": day, "available": False}, headers=w.tokens["doctor"])
    assert r.status_code == 201, r.text
    override = r.json()["id"]

    want = expected(SCHEDULE, w.tokens)
    for role, headers in w.tokens.items():
        r = await client.get(base, headers=headers)
        assert r.status_code == want[role], (role, r.text)
    r = await client.get(base, headers=w.tokens["doctor"])
    assert [(o["date"], o["available"]) for o in r.json()] == [(day, False)]
    r = await client.get(base, params={"from": "2031-01-01", "to": "2031-02-01"}, headers=w.tokens["doctor"])
    assert r.json() == []
    for params in ({"from": "yesterday"}, {"from": "2031-02-01", "to": "2031-01-01"}, {"to": "2040-01-01"}):
        r = await client.get(base, params=params, headers=w.tokens["doctor"])
        assert (r.status_code, r.json()["code"]) == (422, "validation_error"), params

    slots = f"/v1/doctors/{w.clinic.doctor_id}/slots"
    window = {"appointment_type_id": w.clinic.type_30, "from": w.clinic.at(3, 0), "to": w.clinic.at(3, 23)}
    assert (await client.get(slots, params=window)).json()["slots"] == []
    seq = (await client.get(slots, params=window)).json()["seq"]
    for role in ("other_doctor", "other_admin", "patient", "partner", "anonymous"):
        r = await client.delete(f"{base}/{override}", headers=w.tokens[role])
        assert r.status_code == (401 if role == "anonymous" else 403), role
    r = await client.delete(f"{base}/{override}", headers=w.tokens["doctor"])
    assert r.status_code == 204, r.text
    after = (await client.get(slots, params=window)).json()
    assert len(after["slots"]) == 20  # the day follows the weekly window again
    assert after["seq"] > seq  # and open pages were told (a resync)
    r = await client.delete(f"{base}/{override}", headers=w.tokens["admin"])
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert (await client.get(base, headers=w.tokens["admin"])).json() == []
