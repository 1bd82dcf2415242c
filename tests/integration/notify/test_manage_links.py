"""A "manage my booking" link (``mng_…``) is the patient of one appointment and of nothing else.

It sees, cancels, moves and joins its appointment by the patient's rules; it sees no other
appointment, books nothing new, holds only what can move its appointment, and stops working when
the appointment is over or has moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book, hold, insert_past
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


def links(settings: Settings) -> ManageLinks:
    return ManageLinks(settings.secret_key, settings.public_url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def link_for(settings: Settings, appointment_id: str, ends_at: datetime) -> dict[str, str]:
    """The headers of an appointment's manage link, as its emails carry it."""
    return bearer(links(settings).token(uuid.UUID(appointment_id), ends_at))


def link_of(settings: Settings, appointment: dict[str, Any]) -> dict[str, str]:
    return link_for(settings, appointment["id"], datetime.fromisoformat(appointment["end"]))


async def second_doctor(client: Client, admin: dict[str, str], clinic: Clinic) -> str:
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": clinic.timezone},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    doctor: str = r.json()["id"]
    for weekday in range(1, 8):
        r = await client.post(
            f"/v1/doctors/{doctor}/availability-windows",
            json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    return doctor


async def move(client: Client, appointment_id: str, held: dict[str, Any], who: dict[str, str], **body: Any) -> Any:
    return await client.post(
        f"/v1/appointments/{appointment_id}/reschedule",
        json={"hold_id": held["hold_id"]} | body,
        headers={"X-Hold-Token": held["hold_token"], **who},
    )


async def test_a_link_opens_its_appointment_and_no_other(client: Client, clinic: Clinic, settings: Settings) -> None:
    me = await patient(client, clinic)
    mine = await book(client, clinic, clinic.at(3, 10), me)
    also_mine = await book(client, clinic, clinic.at(3, 11), me)  # same session: same patient
    link = link_of(settings, mine)

    r = await client.get(f"/v1/appointments/{mine['id']}", headers=link)
    assert r.status_code == 200 and r.json()["id"] == mine["id"]
    r = await client.get(f"/v1/appointments/{mine['id']}.ics", headers=link)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    r = await client.get(f"/v1/appointments/{mine['id']}/history", headers=link)
    assert r.status_code == 200 and [h["to"] for h in r.json()["items"]] == ["confirmed"]
    for path in ("", ".ics", "/history", "/join"):
        r = await client.get(f"/v1/appointments/{also_mine['id']}{path}", headers=link)
        assert r.status_code == 404, path
    r = await client.post(f"/v1/appointments/{also_mine['id']}/cancel", json={"reason": "not yours"}, headers=link)
    assert r.status_code == 404
    r = await client.get("/v1/appointments", headers=link)
    assert r.status_code == 403 and r.json()["code"] == "manage_link_scope"
    r = await client.get("/v1/appointments", params={"status": "confirmed"}, headers=link)
    assert r.status_code == 403
    r = await client.get("/v1/me", headers=link)
    assert r.status_code == 200 and r.json()["role"] == "patient"


async def test_forged_mangled_and_expired_links_are_refused(client: Client, clinic: Clinic, settings: Settings) -> None:
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    good = links(settings).token(uuid.UUID(a["id"]), datetime.fromisoformat(a["end"]))
    body, _, mac = good.removeprefix("mng_").partition(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    forged = ManageLinks("another-secret-key-of-at-least-32-bytes!", settings.public_url)
    tokens = {
        "mangled signature": f"mng_{body}.{flipped}",
        "padded": f"mng_{body}=.{mac}",  # decodes to the same bytes, but is not the link's spelling
        "stray character": f"mng_{body}.{mac}!",
        "no signature": f"mng_{body}",
        "another key": forged.token(uuid.UUID(a["id"]), datetime.fromisoformat(a["end"])),
        "no appointment": links(settings).token(uuid.uuid4(), datetime.fromisoformat(a["end"])),
        "too long": good + "A" * 200,
        "prefix only": "mng_",
    }
    for name, token in tokens.items():
        r = await client.get(f"/v1/appointments/{a['id']}", headers=bearer(token))
        assert r.status_code == 401, name
        assert r.json()["code"] == "manage_link_invalid", name
    assert (await client.get(f"/v1/appointments/{a['id']}", headers=bearer(good))).status_code == 200

    # over: the link lapses when the join window closes, 60 minutes after the end
    ended = await insert_past(settings, clinic, timedelta(minutes=61))
    ends_at = datetime.now().astimezone() - timedelta(minutes=61)
    r = await client.get(f"/v1/appointments/{ended}", headers=link_for(settings, ended, ends_at))
    assert r.status_code == 401 and r.json()["code"] == "manage_link_expired"
    recent = await insert_past(settings, clinic, timedelta(minutes=20))
    ends_at = datetime.now().astimezone() - timedelta(minutes=20)
    r = await client.get(f"/v1/appointments/{recent}", headers=link_for(settings, recent, ends_at))
    assert r.status_code == 200


async def test_cancel_through_the_link_needs_a_reason_and_keeps_the_notice(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(client, admin, cancellation_notice_minutes=24 * 60)
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    link = link_of(settings, a)
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={}, headers=link)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "Feeling better"}, headers=link)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancellation"]["reason"] == "Feeling better" and r.json()["cancellation"]["by"] == "patient"
    history = (await client.get(f"/v1/appointments/{a['id']}/history", headers=link)).json()["items"]
    assert (history[-1]["actor"], history[-1]["actor_ref"]) == ("patient", f"manage:{a['id']}")
    # a cancelled appointment's link still shows it (the page says it is cancelled)
    r = await client.get(f"/v1/appointments/{a['id']}", headers=link)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"

    soon = await insert_past(settings, clinic, timedelta(minutes=-120))  # starts in 90 minutes
    ends_at = datetime.now().astimezone() + timedelta(minutes=120)
    soon_link = link_for(settings, soon, ends_at)
    r = await client.post(f"/v1/appointments/{soon}/cancel", json={"reason": "busy"}, headers=soon_link)
    assert r.status_code == 409 and r.json()["code"] == "too_late_to_cancel"


async def test_reschedule_through_the_link_moves_it_and_hands_out_the_new_link(
    client: Client, clinic: Clinic, settings: Settings
) -> None:
    me = await patient(client, clinic)
    old = await book(client, clinic, clinic.at(3, 10), me)
    link = link_of(settings, old)
    r = await hold(client, clinic, clinic.at(4, 15), link)
    assert r.status_code == 201, r.text
    r = await move(client, old["id"], r.json(), link, reason="Clash at work")
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["previous_appointment_id"] == old["id"] and new["start"] == clinic.at(4, 15)
    assert r.headers["cache-control"] == "no-store"
    # the new appointment is still the patient's own, not the link's
    assert new["patient"]["ref"] == old["patient"]["ref"] and new["patient"]["issuer"] == "session"
    assert (await client.get(f"/v1/appointments/{new['id']}", headers=me)).status_code == 200
    assert (await client.get(f"/v1/appointments/{old['id']}", headers=me)).json()["status"] == "rescheduled"

    # the old link stops, saying when the appointment is now; the answer's link opens the new one
    r = await client.get(f"/v1/appointments/{old['id']}", headers=link)
    assert r.status_code == 401 and r.json()["code"] == "manage_link_moved"
    assert r.json()["moved_to"]["start"] == new["start"] and r.json()["moved_to"]["status"] == "confirmed"
    assert new["manage_url"].startswith(f"{settings.public_url}/manage/mng_")
    fresh = bearer(new["manage_url"].rsplit("/", 1)[1])
    r = await client.get(f"/v1/appointments/{new['id']}", headers=fresh)
    assert r.status_code == 200 and r.json()["start"] == clinic.at(4, 15)
    r = await client.get(f"/v1/appointments/{old['id']}", headers=fresh)
    assert r.status_code == 404

    # moved again (by the clinic): the first link names the newest time
    staff_hold = (await hold(client, clinic, clinic.at(5, 9), {"Authorization": "Bearer test-admin-token"})).json()
    r = await move(client, new["id"], staff_hold, {"Authorization": "Bearer test-admin-token"})
    assert r.status_code == 201 and r.json()["manage_url"] is None  # staff get no link
    r = await client.get(f"/v1/appointments/{old['id']}", headers=link)
    assert r.json()["moved_to"]["start"] == clinic.at(5, 9)
    assert (await client.get(f"/v1/appointments/{new['id']}", headers=fresh)).json()["code"] == "manage_link_moved"


async def test_a_link_books_nothing_new(client: Client, clinic: Clinic, settings: Settings) -> None:
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    link = link_of(settings, a)
    r = await hold(client, clinic, clinic.at(4, 10), link)
    assert r.status_code == 201, r.text
    held = r.json()
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Someone", "email": "someone@example.org"}},
        headers={"X-Hold-Token": held["hold_token"], **link},
    )
    assert r.status_code == 403 and r.json()["code"] == "manage_link_scope"
    # nor may it move its appointment onto a hold the patient's session took
    theirs = (await hold(client, clinic, clinic.at(4, 11), me)).json()
    r = await move(client, a["id"], theirs, link)
    assert r.status_code == 403
    # while the patient's own session still confirms and is told the new appointment's link
    r = await client.post(
        f"/v1/holds/{theirs['hold_id']}/confirm",
        json={"patient": {"name": "Pat", "email": "pat@example.org"}},
        headers={"X-Hold-Token": theirs["hold_token"], **me},
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    booked = r.json()
    token = booked["manage_url"].rsplit("/", 1)[1]
    assert links(settings).check(token) == uuid.UUID(booked["appointment"]["id"])


async def test_a_links_holds_are_limited_to_its_type_and_doctor(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    for mode in ("same_doctor", "any_doctor"):
        clinic = await make_clinic(client, admin, rebooking_mode=mode)
        other_doctor = await second_doctor(client, admin, clinic)
        elsewhere = await make_clinic(client, admin)
        me = await patient(client, clinic)
        a = await book(client, clinic, clinic.at(3, 10), me)
        link = link_of(settings, a)

        r = await hold(client, clinic, clinic.at(4, 10), link, appointment_type_id=clinic.type_60)
        assert r.status_code == 403, (mode, r.text)
        r = await hold(client, elsewhere, clinic.at(4, 10), link)
        assert r.status_code == 403, (mode, r.text)
        r = await hold(client, clinic, clinic.at(4, 10), link, doctor_id=other_doctor)
        if mode == "same_doctor":
            assert r.status_code == 403, r.text
            continue
        assert r.status_code == 201, r.text
        r = await move(client, a["id"], r.json(), link)
        assert r.status_code == 201 and r.json()["doctor_id"] == other_doctor


async def test_a_link_joins_inside_the_window_only(client: Client, clinic: Clinic, settings: Settings) -> None:
    me = await patient(client, clinic)
    upcoming = await book(client, clinic, clinic.at(3, 10), me)
    r = await client.get(f"/v1/appointments/{upcoming['id']}/join", headers=link_of(settings, upcoming))
    assert r.status_code == 409 and r.json()["code"] == "outside_join_window"

    now = await insert_past(settings, clinic, timedelta(minutes=-20))  # began 10 minutes ago
    ends_at = datetime.now().astimezone() + timedelta(minutes=20)
    r = await client.get(f"/v1/appointments/{now}/join", headers=link_for(settings, now, ends_at))
    assert r.status_code == 200, r.text
    assert r.json()["meeting_url"].startswith("https://") and r.headers["cache-control"] == "no-store"
