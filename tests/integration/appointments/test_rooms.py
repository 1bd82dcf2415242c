"""The room is not the window (invariant 10): the room's address comes only from ``/join``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book, insert_past
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]
JITSI_SECRET = "jitsi-app-secret-of-the-deployment-0123456789"


async def staff_of(client: Client, clinic: Clinic, admin: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers of an organisation admin and of the clinic's doctor."""
    key = (await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", headers=admin)).json()
    cred = (await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin)).json()
    return {"Authorization": f"Bearer {key['key']}"}, {"Authorization": f"Bearer {cred['token']}"}


async def test_the_room_is_in_no_appointment_body_list_or_calendar_file(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    me = await patient(client, clinic)
    booked = await book(client, clinic, clinic.at(3, 10), me)
    cancelled = await book(client, clinic, clinic.at(3, 11), me)
    await client.post(f"/v1/appointments/{cancelled['id']}/cancel", json={"reason": "x"}, headers=me)
    seen = [
        str(booked),
        (await client.get(f"/v1/appointments/{booked['id']}", headers=me)).text,
        (await client.get(f"/v1/appointments/{cancelled['id']}", headers=admin)).text,
        (await client.get("/v1/appointments", headers=me)).text,
        (await client.get("/v1/appointments", params={"status": "cancelled"}, headers=admin)).text,
        (await client.get(f"/v1/appointments/{booked['id']}.ics", headers=me)).text,
    ]
    for text in seen:
        assert "meet.jit.si" not in text and "meeting_url" not in text, text
    assert booked["join_url"] == f"/v1/appointments/{booked['id']}/join"
    ics = seen[-1].replace("\r\n ", "")
    assert f"/v1/appointments/{booked['id']}/join" in ics


async def test_join_hands_the_room_to_the_appointments_people_only(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    ref = await _session_ref(client, me)
    now_on = await insert_past(settings, clinic, timedelta(minutes=30), patient_ref=ref)
    org_admin, doctor = await staff_of(client, clinic, admin)
    urls = set()
    for who in (me, org_admin, doctor):
        r = await client.get(f"/v1/appointments/{now_on}/join", headers=who)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.json()["meeting_url"].startswith("https://meet.jit.si/clinic-")
        assert r.json()["expires_at"] == r.json()["closes_at"]
        urls.add(r.json()["meeting_url"])
    assert len(urls) == 1  # one persistent room per doctor without room tokens
    stranger = await patient(client, clinic)
    assert (await client.get(f"/v1/appointments/{now_on}/join", headers=stranger)).status_code == 404
    other = await make_clinic(client, admin)
    other_admin, other_doctor = await staff_of(client, other, admin)
    for who in (other_admin, other_doctor):
        assert (await client.get(f"/v1/appointments/{now_on}/join", headers=who)).status_code in (403, 404)


async def test_with_a_jitsi_secret_join_hands_out_a_signed_expiring_room_token(
    settings: Settings, admin: dict[str, str]
) -> None:
    jitsi = msgspec.structs.replace(settings, jitsi_app_id="clinic-app", jitsi_app_secret=JITSI_SECRET)
    async with AsyncTestClient(app=create_app(jitsi), timeout=30) as client:
        clinic = await make_clinic(client, admin)
        me = await patient(client, clinic)
        appointment = await insert_past(
            jitsi, clinic, timedelta(minutes=30), patient_ref=await _session_ref(client, me)
        )
        _, doctor = await staff_of(client, clinic, admin)
        claims: dict[str, dict[str, Any]] = {}
        for name, who in (("patient", me), ("doctor", doctor)):
            r = await client.get(f"/v1/appointments/{appointment}/join", headers=who)
            assert r.status_code == 200, r.text
            url = urlsplit(r.json()["meeting_url"])
            token = parse_qs(url.query)["jwt"][0]
            claims[name] = jwt.decode(token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi")
            assert claims[name]["room"] == url.path.rsplit("/", 1)[-1]
            assert claims[name]["iss"] == "clinic-app" and claims[name]["sub"] == "meet.jit.si"
            closes = datetime.fromisoformat(r.json()["closes_at"])
            assert claims[name]["exp"] == int(closes.timestamp())
        assert claims["doctor"]["moderator"] is True and claims["doctor"]["context"]["user"]["moderator"] is True
        assert claims["patient"]["moderator"] is False
        # a token signed with anything else is not one of ours
        forged = jwt.encode(claims["patient"] | {"moderator": True}, "x" * 40, algorithm="HS256")
        try:
            jwt.decode(forged, JITSI_SECRET, algorithms=["HS256"], audience="jitsi")
        except jwt.InvalidSignatureError:
            pass
        else:
            raise AssertionError("forged room token accepted")


async def test_the_room_name_is_derived_per_purpose(settings: Settings) -> None:
    from gateway.appointments.rooms import Rooms
    from gateway.trust.crypto import derive

    rooms = Rooms(settings.secret_key, "https://meet.example/{room}")
    doctor = uuid.uuid4()
    import hashlib
    import hmac

    plain = hmac.new(settings.secret_key.encode(), doctor.bytes, hashlib.sha256).hexdigest()
    assert not plain.startswith(rooms.room(doctor))  # not the bare secret key any more
    assert derive(settings.secret_key, "meeting-rooms/v1") != derive(settings.secret_key, "session-tokens/v1")


async def _session_ref(client: Client, headers: dict[str, str]) -> str:
    """The patient reference the gateway gives this session (as its appointments record it)."""
    token = headers["Authorization"].split(" ", 1)[1]
    sub: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return sub
