"""Appointment types limited to the doctors who offer them, and the public clinic directory.

A type that names no doctors is offered by every doctor of its organisation (as before); once it
names some, the others have no slots for it and cannot hold it (422 ``not_bookable``, reason
``not_offered``), at once, although each process caches the type.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@dataclass
class World:
    clinic: Clinic
    other: Clinic
    second: str
    org_admin: Headers
    other_admin: Headers
    doctor: Headers


async def build(client: Client, admin: Headers) -> World:
    """Two organisations; the first with a second doctor ("Dr. Adams", open like the first)."""
    clinic, other = await make_clinic(client, admin), await make_clinic(client, admin)
    keys = []
    for c in (clinic, other):
        r = await client.post(f"/v1/admin/organisations/{c.organisation_id}/api-keys", headers=admin)
        keys.append({"Authorization": f"Bearer {r.json()['key']}"})
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Adams", "timezone": "Europe/Berlin"},
        headers=keys[0],
    )
    second = r.json()["id"]
    for weekday in range(1, 8):
        r = await client.post(
            f"/v1/doctors/{second}/availability-windows",
            json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
            headers=keys[0],
        )
        assert r.status_code == 201, r.text
    r = await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin)
    doctor = {"Authorization": f"Bearer {r.json()['token']}"}
    return World(clinic, other, second, keys[0], keys[1], doctor)


async def slots(client: Client, doctor_id: str, type_id: str, c: Clinic) -> tuple[int, dict[str, object]]:
    day = c.slot_day()
    r = await client.get(
        f"/v1/doctors/{doctor_id}/slots",
        params={"appointment_type_id": type_id, "from": day.isoformat(), "to": c.at(3, 0)},
    )
    body: dict[str, object] = r.json()
    return r.status_code, body


async def test_a_type_limited_to_some_doctors_is_offered_by_those_only(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    c, path = w.clinic, f"/v1/admin/appointment-types/{w.clinic.type_30}/doctors"
    # every doctor offers a type that names none (and the type is now in this process's cache)
    for doctor in (c.doctor_id, w.second):
        status, body = await slots(client, doctor, c.type_30, c)
        assert status == 200 and body["slots"], body
    r = await client.get(path, headers=w.org_admin)
    assert r.json() == {"appointment_type_id": c.type_30, "doctor_ids": []}

    r = await client.put(path, json={"doctor_ids": [w.second, w.second]}, headers=w.org_admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"appointment_type_id": c.type_30, "doctor_ids": [w.second]}
    r = await client.get(path, headers=w.doctor)  # the organisation's doctors may read it
    assert r.json()["doctor_ids"] == [w.second]
    r = await client.get(f"/v1/appointment-types/{c.type_30}")
    assert r.json()["doctor_ids"] == [w.second]
    r = await client.get(f"/v1/organisations/{c.organisation_id}/appointment-types", headers=w.org_admin)
    assert {t["id"]: t["doctor_ids"] for t in r.json()} == {c.type_30: [w.second], c.type_60: []}

    status, body = await slots(client, c.doctor_id, c.type_30, c)
    assert (status, body["code"], body["reason"]) == (422, "not_bookable", "not_offered"), body
    status, body = await slots(client, w.second, c.type_30, c)
    assert status == 200 and body["slots"], body
    status, body = await slots(client, c.doctor_id, c.type_60, c)  # the other type is untouched
    assert status == 200 and body["slots"], body

    me = await patient(client, c)
    start = c.at(2, 10)
    r = await client.post(
        "/v1/holds", json={"doctor_id": c.doctor_id, "appointment_type_id": c.type_30, "start": start}, headers=me
    )
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (422, "not_bookable", "not_offered"), r.text
    r = await client.post(
        "/v1/holds", json={"doctor_id": w.second, "appointment_type_id": c.type_30, "start": start}, headers=me
    )
    assert r.status_code == 201, r.text

    # editing the type keeps its doctors
    r = await client.patch(f"/v1/admin/appointment-types/{c.type_30}", json={"name": "Short"}, headers=w.org_admin)
    assert r.json()["doctor_ids"] == [w.second]
    # an empty list: every doctor again
    r = await client.put(path, json={"doctor_ids": []}, headers=w.org_admin)
    assert r.json()["doctor_ids"] == []
    status, body = await slots(client, c.doctor_id, c.type_30, c)
    assert status == 200 and body["slots"], body


async def test_a_hold_taken_before_the_type_was_limited_to_others_cannot_be_confirmed(
    client: Client, admin: Headers
) -> None:
    w = await build(client, admin)
    c = w.clinic
    me = await patient(client, c)
    r = await client.post(
        "/v1/holds", json={"doctor_id": c.doctor_id, "appointment_type_id": c.type_30, "start": c.at(2, 10)}, headers=me
    )
    assert r.status_code == 201, r.text
    held = r.json()
    r = await client.put(
        f"/v1/admin/appointment-types/{c.type_30}/doctors", json={"doctor_ids": [w.second]}, headers=w.org_admin
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Ada", "email": "ada@example.org"}},
        headers={**me, "X-Hold-Token": held["hold_token"]},
    )
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (422, "not_bookable", "not_offered"), r.text
    r = await client.get("/v1/appointments", params={"doctor_id": c.doctor_id}, headers=w.org_admin)
    assert r.json()["items"] == []  # nothing was written
    r = await client.delete(f"/v1/holds/{held['hold_id']}", headers={**me, "X-Hold-Token": held["hold_token"]})
    assert r.status_code == 204  # the hold was kept, for its owner to let go


async def test_only_doctors_of_the_types_organisation_and_only_its_admins(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    path = f"/v1/admin/appointment-types/{w.clinic.type_30}/doctors"
    r = await client.put(path, json={"doctor_ids": [w.second]}, headers=w.org_admin)
    assert r.status_code == 200
    for doctor_ids in ([w.clinic.doctor_id, w.other.doctor_id], ["00000000-0000-4000-8000-000000000000"]):
        r = await client.put(path, json={"doctor_ids": doctor_ids}, headers=w.org_admin)
        assert (r.status_code, r.json()["code"]) == (422, "doctor_not_in_organisation"), r.text
    r = await client.get(path, headers=w.org_admin)
    assert r.json()["doctor_ids"] == [w.second]  # nothing half-written

    for body in ({"doctor_ids": "x"}, {"doctor_ids": ["not-a-uuid"]}, {}, {"doctor_ids": [], "more": 1}):
        r = await client.put(path, json=body, headers=w.org_admin)
        assert 400 <= r.status_code < 500 and r.json()["code"], (body, r.text)
    r = await client.put(path, json={"doctor_ids": []}, headers=w.doctor)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await client.put(path, json={"doctor_ids": []}, headers=w.other_admin)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.get(path, headers=w.other_admin)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.put(path, json={"doctor_ids": []})
    assert r.status_code == 401
    r = await client.put(
        "/v1/admin/appointment-types/00000000-0000-4000-8000-000000000000/doctors",
        json={"doctor_ids": []},
        headers=admin,
    )
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.get(path, headers=w.org_admin)
    assert r.json()["doctor_ids"] == [w.second]


async def test_the_clinic_directory_lists_services_with_their_doctors(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    c = w.clinic
    r = await client.patch(f"/v1/admin/doctors/{w.second}", json={"email": "adams@example.org"}, headers=w.org_admin)
    assert r.status_code == 200, r.text
    r = await client.put(
        f"/v1/admin/appointment-types/{c.type_60}/doctors", json={"doctor_ids": [w.second]}, headers=w.org_admin
    )
    assert r.status_code == 200
    r = await client.patch(
        f"/v1/admin/appointment-types/{c.type_30}",
        json={"payment_mode": "full", "fee_cents": 4500, "currency": "EUR"},
        headers=w.org_admin,
    )
    assert r.status_code == 200, r.text

    r = await client.get(f"/v1/clinics/{c.slug}")  # no token
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["organisation"] == {"id": c.organisation_id, "name": "Test Clinic", "slug": c.slug}
    # doctors by name, with nothing but id, name and zone
    assert body["doctors"] == [
        {"id": w.second, "name": "Dr. Adams", "timezone": "Europe/Berlin"},
        {"id": c.doctor_id, "name": "Dr. Test", "timezone": "Europe/Berlin"},
    ]
    services = {s["id"]: s for s in body["services"]}
    assert list(services) == [c.type_30, c.type_60]
    assert services[c.type_30]["doctor_ids"] == [w.second, c.doctor_id]  # names none: everyone
    assert services[c.type_60]["doctor_ids"] == [w.second]
    assert services[c.type_30] | {"doctor_ids": []} == {
        "id": c.type_30,
        "name": "30 min",
        "duration_minutes": 30,
        "requires_approval": False,
        "payment_mode": "full",
        "fee_cents": 4500,
        "token_amount_cents": None,
        "advance_percent": None,
        "currency": "EUR",
        "doctor_ids": [],
    }
    assert "adams@example.org" not in r.text and "min_notice_minutes" not in r.text

    r = await client.get(f"/v1/clinics/{w.other.slug}")
    assert [s["id"] for s in r.json()["services"]] == [w.other.type_30, w.other.type_60]
    for slug in ("no-such-clinic", "x" * 300, "%00", f"{c.slug}%0A"):
        r = await client.get(f"/v1/clinics/{slug}")
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), (slug, r.text)


async def test_the_directory_answers_allowed_origins_and_is_in_the_openapi_document(
    client: Client, admin: Headers
) -> None:
    c = await make_clinic(client, admin)
    origin = "https://partner.example"
    r = await client.patch(
        f"/v1/admin/organisations/{c.organisation_id}", json={"allowed_origins": [origin]}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/v1/clinics/{c.slug}", headers={"Origin": origin})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    r = await client.get("/schema/openapi.json")
    paths = r.json()["paths"]
    assert "get" in paths["/v1/clinics/{slug}"]
    assert {"get", "put"} <= set(paths["/v1/admin/appointment-types/{type_id}/doctors"])


async def test_a_type_names_its_doctors_when_created_or_edited(client: Client, admin: Headers) -> None:
    w = await build(client, admin)
    c = w.clinic
    org = c.organisation_id
    types = f"/v1/organisations/{org}/appointment-types"
    before = len((await client.get(types, headers=w.org_admin)).json())
    body = {"organisation_id": org, "name": "Follow-up", "duration_minutes": 15}
    r = await client.post(
        "/v1/admin/appointment-types", json=body | {"doctor_ids": [w.other.doctor_id]}, headers=w.org_admin
    )
    assert (r.status_code, r.json()["code"]) == (422, "doctor_not_in_organisation")
    assert len((await client.get(types, headers=w.org_admin)).json()) == before  # nothing half-written
    r = await client.post("/v1/admin/appointment-types", json=body | {"doctor_ids": [w.second]}, headers=w.org_admin)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["doctor_ids"] == [w.second]
    status, answer = await slots(client, c.doctor_id, made["id"], c)
    assert (status, answer["reason"]) == (422, "not_offered")

    path = f"/v1/admin/appointment-types/{made['id']}"
    r = await client.patch(path, json={"name": "Renamed", "doctor_ids": [w.other.doctor_id]}, headers=w.org_admin)
    assert (r.status_code, r.json()["code"]) == (422, "doctor_not_in_organisation")
    r = await client.get(f"/v1/appointment-types/{made['id']}")
    assert (r.json()["name"], r.json()["doctor_ids"]) == ("Follow-up", [w.second])  # neither changed
    r = await client.patch(path, json={"name": "Renamed", "doctor_ids": [c.doctor_id]}, headers=w.org_admin)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["doctor_ids"]) == ("Renamed", [c.doctor_id])
    status, answer = await slots(client, c.doctor_id, made["id"], c)
    assert status == 200 and answer["slots"], answer
