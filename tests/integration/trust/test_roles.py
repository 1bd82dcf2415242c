"""Every guarded route, called by every role, of this and of another organisation (invariant 8)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]
ROLES = (
    "anonymous",
    "patient",
    "partner",
    "doctor",
    "other_doctor",
    "admin",
    "other_admin",
    "other_patient",
    "platform",
)


@dataclass
class World:
    clinic: Clinic
    other: Clinic
    tokens: dict[str, dict[str, str]]
    window_id: str
    key_id: str


async def build(client: Client, admin: dict[str, str]) -> World:
    clinic = await make_clinic(client, admin)
    other = await make_clinic(client, admin)
    keys = {}
    for name, c in (("admin", clinic), ("other_admin", other)):
        r = await client.post(f"/v1/admin/organisations/{c.organisation_id}/api-keys", headers=admin)
        keys[name] = {"Authorization": f"Bearer {r.json()['key']}"}
    # a second doctor of the same organisation: may not touch the first doctor's schedule
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": "UTC"},
        headers=keys["admin"],
    )
    second_doctor = r.json()["id"]
    for name, doctor in (("doctor", clinic.doctor_id), ("other_doctor", second_doctor)):
        r = await client.post(f"/v1/admin/doctors/{doctor}/credentials", headers=keys["admin"])
        assert r.status_code == 201, r.text
        keys[name] = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post(f"/v1/organisations/{clinic.organisation_id}/booking-secrets", headers=keys["admin"])
    key_id, secret = r.json()["key_id"], r.json()["secret"]
    now = int(time.time())
    partner = jwt.encode(
        {"sub": "p-1", "iat": now, "exp": now + 600}, secret, algorithm="HS256", headers={"kid": key_id}
    )
    windows = await client.get(f"/v1/doctors/{clinic.doctor_id}/availability-windows", headers=admin)
    return World(
        clinic=clinic,
        other=other,
        tokens=keys
        | {
            "anonymous": {},
            "patient": await patient(client, clinic),
            "other_patient": await patient(client, other),
            "partner": {"Authorization": f"Bearer {partner}"},
            "platform": admin,
        },
        window_id=windows.json()[0]["id"],
        key_id=key_id,
    )


Call = Callable[[Client, World, dict[str, str], int], Any]


def expect(allowed: set[str], status: int = 201) -> dict[str, int]:
    """Allowed roles get ``status``; the anonymous 401; everyone else 403."""
    return {role: status if role in allowed else 401 if role == "anonymous" else 403 for role in ROLES}


ADMINS = {"platform", "admin"}
SCHEDULE = {"platform", "admin", "doctor"}
BOOKERS = {"platform", "admin", "doctor", "other_doctor", "patient", "partner"}

ROUTES: list[tuple[str, Call, dict[str, int]]] = [
    (
        "create organisation",
        lambda c, w, h, n: c.post(
            "/v1/admin/organisations", json={"name": "X", "slug": f"x-{uuid.uuid4().hex[:8]}"}, headers=h
        ),
        expect({"platform"}),
    ),
    (
        "create api key",
        lambda c, w, h, n: c.post(f"/v1/admin/organisations/{w.clinic.organisation_id}/api-keys", headers=h),
        expect({"platform"}),
    ),
    (
        "read organisation",
        lambda c, w, h, n: c.get(f"/v1/admin/organisations/{w.clinic.organisation_id}", headers=h),
        expect(ADMINS, 200),
    ),
    (
        "set allowed origins",
        lambda c, w, h, n: c.patch(
            f"/v1/admin/organisations/{w.clinic.organisation_id}", json={"allowed_origins": []}, headers=h
        ),
        expect(ADMINS, 200),
    ),
    (
        "create doctor",
        lambda c, w, h, n: c.post(
            "/v1/admin/doctors",
            json={"organisation_id": w.clinic.organisation_id, "name": "N", "timezone": "UTC"},
            headers=h,
        ),
        expect(ADMINS),
    ),
    (
        "create type",
        lambda c, w, h, n: c.post(
            "/v1/admin/appointment-types",
            json={"organisation_id": w.clinic.organisation_id, "name": "T", "duration_minutes": 15},
            headers=h,
        ),
        expect(ADMINS),
    ),
    (
        "edit type",
        lambda c, w, h, n: c.patch(
            f"/v1/admin/appointment-types/{w.clinic.type_30}", json={"name": "Renamed"}, headers=h
        ),
        expect(ADMINS, 200),
    ),
    (
        "doctor credential",
        lambda c, w, h, n: c.post(f"/v1/admin/doctors/{w.clinic.doctor_id}/credentials", headers=h),
        expect(ADMINS),
    ),
    (
        "add window",
        lambda c, w, h, n: c.post(
            f"/v1/doctors/{w.clinic.doctor_id}/availability-windows",
            json={"weekday": 1 + n % 7, "start_minute": 1200, "end_minute": 1260},
            headers=h,
        ),
        expect(SCHEDULE),
    ),
    (
        "read windows",
        lambda c, w, h, n: c.get(f"/v1/doctors/{w.clinic.doctor_id}/availability-windows", headers=h),
        expect(SCHEDULE, 200),
    ),
    (
        "edit window",
        lambda c, w, h, n: c.patch(
            f"/v1/doctors/{w.clinic.doctor_id}/availability-windows/{w.window_id}",
            json={"buffer_minutes": 0},
            headers=h,
        ),
        expect(SCHEDULE, 200),
    ),
    (
        "day off",
        lambda c, w, h, n: c.post(
            f"/v1/doctors/{w.clinic.doctor_id}/date-overrides",
            json={"date": "2031-01-06", "available": False},
            headers=h,
        ),
        expect(SCHEDULE),
    ),
    (
        "create booking secret",
        lambda c, w, h, n: c.post(f"/v1/organisations/{w.clinic.organisation_id}/booking-secrets", headers=h),
        expect(ADMINS),
    ),
    (
        "list booking secrets",
        lambda c, w, h, n: c.get(f"/v1/organisations/{w.clinic.organisation_id}/booking-secrets", headers=h),
        expect(ADMINS, 200),
    ),
    (
        "reveal booking secret",
        lambda c, w, h, n: c.get(f"/v1/organisations/{w.clinic.organisation_id}/booking-secrets/{w.key_id}", headers=h),
        expect(ADMINS, 200),
    ),
    (
        "hold a slot",
        lambda c, w, h, n: c.post(
            "/v1/holds",
            json={
                "doctor_id": w.clinic.doctor_id,
                "appointment_type_id": w.clinic.type_30,
                "start": w.clinic.at(3 + n // 18, 8 + (n % 18) // 2, 30 * (n % 2)),
            },
            headers=h,
        ),
        expect(BOOKERS),
    ),
]


async def test_every_route_for_every_role(client: Client, admin: dict[str, str]) -> None:
    world = await build(client, admin)
    failures = []
    n = 0
    for name, call, expected in ROUTES:
        for role in ROLES:
            n += 1
            r = await call(client, world, world.tokens[role], n)
            if r.status_code != expected[role]:
                failures.append(f"{name} as {role}: {r.status_code} (expected {expected[role]}) {r.text[:120]}")
            elif r.status_code >= 400:
                assert r.json()["code"] in {"unauthorized", "forbidden"}, (name, role, r.json())
    assert not failures, "\n".join(failures)
    # revoking is an admin's act too; it runs last because it ends the secret
    url = f"/v1/organisations/{world.clinic.organisation_id}/booking-secrets/{world.key_id}"
    for role in ("other_admin", "doctor", "patient", "partner"):
        assert (await client.delete(url, headers=world.tokens[role])).status_code == 403, role
    assert (await client.delete(url, headers=world.tokens["admin"])).status_code == 204


async def test_a_patient_cannot_confirm_or_release_someone_elses_hold(client: Client, clinic: Clinic) -> None:
    me, someone = await patient(client, clinic), await patient(client, clinic)
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)},
        headers=me,
    )
    held = r.json()
    body = {"patient": {"name": "X", "email": "x@example.org"}}
    # the token leaked, but the session is not the holder's
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm", json=body, headers={"X-Hold-Token": held["hold_token"], **someone}
    )
    assert r.status_code == 403
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm", json=body, headers={"X-Hold-Token": held["hold_token"], **me}
    )
    assert r.status_code == 201


async def test_sessions_are_per_organisation(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    r = await client.post("/v1/sessions", json={"organisation_slug": "no-such-clinic"})
    assert r.status_code == 404
    other = await make_clinic(client, admin)
    theirs = await patient(client, other)
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 9)},
        headers=theirs,
    )
    assert r.status_code == 403
