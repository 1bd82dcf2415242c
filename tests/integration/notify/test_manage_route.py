"""``GET /manage/{token}``: the page a manage link opens, and what it says when the link opens nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book, hold, insert_past
from tests.support import ADMIN_TOKEN, Clinic, patient

Client = AsyncTestClient[Litestar]


def token_of(settings: Settings, appointment_id: str, ends_at: datetime) -> str:
    return ManageLinks(settings.secret_key, settings.public_url).token(uuid.UUID(appointment_id), ends_at)


async def test_the_page_opens_for_its_link_and_keeps_the_token_to_itself(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    r = await client.post("/v1/admin/organisations", json={"name": "Smith & <Sons>", "slug": "smith"}, headers=admin)
    org = r.json()["id"]
    r = await client.post(
        "/v1/admin/doctors", json={"organisation_id": org, "name": "Dr. A", "timezone": "UTC"}, headers=admin
    )
    doctor = r.json()["id"]
    for weekday in range(1, 8):
        await client.post(
            f"/v1/doctors/{doctor}/availability-windows",
            json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
            headers=admin,
        )
    r = await client.post(
        "/v1/admin/appointment-types",
        json={"organisation_id": org, "name": "Visit", "duration_minutes": 30},
        headers=admin,
    )
    clinic = Clinic(org, doctor, "UTC", r.json()["id"], r.json()["id"], "smith")
    a = await book(client, clinic, clinic.at(3, 10), await patient(client, clinic))

    r = await client.get(f"/manage/{token_of(settings, a['id'], datetime.fromisoformat(a['end']))}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'data-appointment-id="{a["id"]}"' in r.text
    assert "Smith &amp; &lt;Sons&gt;" in r.text and "<Sons>" not in r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    for name in ("main.js", "calendar.js", "reschedule.js", "manage.css"):
        assert (await client.get(f"/static/manage/{name}")).status_code == 200, name


async def test_a_link_that_opens_nothing_says_why(client: Client, clinic: Clinic, settings: Settings) -> None:
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    good = token_of(settings, a["id"], datetime.fromisoformat(a["end"]))

    for token in (good[:-3] + "AAA", "mng_x.y", ADMIN_TOKEN, "gk_nothing", "%00"):
        r = await client.get(f"/manage/{token}")
        assert r.status_code == 404, token
        assert "not a valid link" in r.text and r.headers["referrer-policy"] == "no-referrer"

    ended = await insert_past(settings, clinic, timedelta(hours=2))
    r = await client.get(f"/manage/{token_of(settings, ended, datetime.now().astimezone() - timedelta(hours=2))}")
    assert r.status_code == 410 and "This link has expired" in r.text

    held = (await hold(client, clinic, clinic.at(4, 15), me)).json()
    r = await client.post(
        f"/v1/appointments/{a['id']}/reschedule",
        json={"hold_id": held["hold_id"]},
        headers={"X-Hold-Token": held["hold_token"], **me},
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"/manage/{good}")
    assert r.status_code == 410 and "This appointment was moved" in r.text
    # the new time, in the patient's zone when the booking named one (this one did not: UTC)
    new_start = datetime.fromisoformat(clinic.at(4, 15)).astimezone(ZoneInfo("UTC"))
    assert f"{new_start:%A} {new_start.day} {new_start:%B %Y, %H:%M} (UTC)" in r.text
