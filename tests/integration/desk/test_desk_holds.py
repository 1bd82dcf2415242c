"""The front desk sees every live hold of its organisation and lets one go without its token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from gateway.settings import Settings
from holds.keys import Keys
from tests.integration.desk.support_desk import PATIENT, Client, admin_key, patient_hold
from tests.support import Clinic, make_clinic


async def test_live_holds_are_listed_without_tokens_and_only_for_staff(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    staff = await admin_key(client, admin, clinic)
    first = await patient_hold(client, clinic, clinic.at(3, 11))
    second = await patient_hold(client, clinic, clinic.at(3, 9), clinic.type_60)
    url = f"/v1/admin/organisations/{clinic.organisation_id}/holds"

    r = await client.get(url, headers=staff)
    assert r.status_code == 200, r.text
    holds = r.json()["holds"]
    assert [h["hold_id"] for h in holds] == [second["hold_id"], first["hold_id"]]  # by start
    assert holds[1] == {
        "hold_id": first["hold_id"],
        "doctor_id": clinic.doctor_id,
        "start": first["start"],
        "end": first["end"],
        "expires_at": holds[1]["expires_at"],
    }
    expires = datetime.fromisoformat(holds[1]["expires_at"])
    assert datetime.now(UTC) < expires <= datetime.fromisoformat(first["expires_at"]) + timedelta(seconds=1)
    assert first["hold_token"] not in r.text and "hold_token" not in r.text
    r = await client.get(url, params={"tz": "Europe/Berlin"}, headers=staff)
    assert r.json()["holds"][0]["start"].endswith(("+01:00", "+02:00"))

    # the platform may look too; a patient, another organisation's admin may not
    assert (await client.get(url, headers=admin)).status_code == 200
    assert (await client.get(url, headers=first["headers"])).status_code == 403
    other = await make_clinic(client, admin)
    stranger = await admin_key(client, admin, other)
    r = await client.get(url, headers=stranger)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.get(f"/v1/admin/organisations/{other.organisation_id}/holds", headers=stranger)
    assert r.status_code == 200 and r.json()["holds"] == []
    assert (await client.get(url)).status_code == 401


async def test_staff_release_frees_the_slot_announces_it_and_the_owner_cannot_confirm(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, redis: Redis
) -> None:
    staff = await admin_key(client, admin, clinic)
    start = clinic.at(3, 10)
    held = await patient_hold(client, clinic, start)
    slots_url = f"/v1/doctors/{clinic.doctor_id}/slots"
    query = {"appointment_type_id": clinic.type_30, "from": clinic.at(3, 8), "to": clinic.at(3, 18)}
    assert start not in [s["start"] for s in (await client.get(slots_url, params=query)).json()["slots"]]

    pubsub = redis.pubsub()
    await pubsub.subscribe(Keys(settings.redis.prefix).channel(clinic.doctor_id))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    url = f"/v1/admin/holds/{held['hold_id']}"
    r = await client.delete(url, params={"doctor_id": clinic.doctor_id}, headers=staff)
    assert r.status_code == 204, r.text

    # a page watching the doctor hears slot.released for exactly that slot
    message = None
    for _ in range(20):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message:
            break
    await pubsub.aclose()
    assert message is not None
    event = json.loads(message["data"])
    assert (event["type"], event["start"], event["end"]) == ("slot.released", held["start"], held["end"])
    assert start in [s["start"] for s in (await client.get(slots_url, params=query)).json()["slots"]]
    r = await client.get(f"/v1/admin/organisations/{clinic.organisation_id}/holds", headers=staff)
    assert r.json()["holds"] == []

    # the hold's owner finds it gone
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": PATIENT},
        headers={"X-Hold-Token": held["hold_token"]} | held["headers"],
    )
    assert r.status_code in (404, 410), r.text
    r = await client.get(f"/v1/holds/{held['hold_id']}", headers={"X-Hold-Token": held["hold_token"]})
    assert r.json()["status"] == "released"
    # and a second release finds nothing
    r = await client.delete(url, params={"doctor_id": clinic.doctor_id}, headers=staff)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


async def test_staff_release_is_refused_to_strangers_and_while_confirming(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, redis: Redis
) -> None:
    held = await patient_hold(client, clinic, clinic.at(3, 12))
    url = f"/v1/admin/holds/{held['hold_id']}"
    mine = {"doctor_id": clinic.doctor_id}
    other = await make_clinic(client, admin)
    stranger = await admin_key(client, admin, other)
    assert (await client.delete(url, params=mine, headers=stranger)).status_code == 403
    assert (await client.delete(url, params=mine, headers=held["headers"])).status_code == 403
    # a hold named under another doctor is not found (the doctor is the hold's, or nothing)
    r = await client.delete(url, params={"doctor_id": other.doctor_id}, headers=admin)
    assert r.status_code == 404
    r = await client.delete(url, params={"doctor_id": "not-a-uuid"}, headers=admin)
    assert r.status_code == 400 or r.status_code == 422
    assert (await client.delete(url, headers=admin)).status_code in (400, 422)

    # mid-confirm: 409 hold_busy, and the hold stays
    keys = Keys(settings.redis.prefix)
    await redis.hset(keys.hold(clinic.doctor_id, held["hold_id"]), "status", "confirming")
    r = await client.delete(url, params=mine, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "hold_busy", r.text
    await redis.hset(keys.hold(clinic.doctor_id, held["hold_id"]), "status", "held")
    r = await client.delete(url, params=mine, headers=admin)
    assert r.status_code == 204, r.text


async def test_the_desk_routes_are_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for path, method in (
        ("/v1/admin/desk", "get"),
        ("/v1/admin/organisations/{organisation_id}/holds", "get"),
        ("/v1/admin/holds/{hold_id}", "delete"),
        ("/v1/admin/doctors/{doctor_id}/slots", "get"),
        ("/v1/admin/bookings", "post"),
        ("/v1/admin/meet-now", "post"),
    ):
        assert method in schema["paths"].get(path, {}), path
    booking = schema["components"]["schemas"]
    assert any("override_notice" in s.get("properties", {}) and "patient" in s["properties"] for s in booking.values())


async def test_the_desk_context_finds_the_organisation_by_slug_or_id(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    staff = await admin_key(client, admin, clinic)
    for headers, named in ((admin, clinic.slug), (admin, clinic.organisation_id), (staff, None), (staff, clinic.slug)):
        r = await client.get("/v1/admin/desk", params={"organisation": named} if named else {}, headers=headers)
        assert r.status_code == 200, r.text
        desk = r.json()
        assert desk["organisation"]["id"] == clinic.organisation_id
        assert [d["id"] for d in desk["doctors"]] == [clinic.doctor_id]
        assert {t["id"] for t in desk["appointment_types"]} == {clinic.type_30, clinic.type_60}
    r = await client.get("/v1/admin/desk", headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "organisation_required"
    r = await client.get("/v1/admin/desk", params={"organisation": "no-such-clinic"}, headers=admin)
    assert r.status_code == 404
    other = await make_clinic(client, admin)
    r = await client.get("/v1/admin/desk", params={"organisation": other.slug}, headers=staff)
    assert r.status_code == 403
