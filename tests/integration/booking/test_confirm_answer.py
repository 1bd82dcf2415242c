"""What a patient's confirm answers: the appointment with its short booking reference, and the
signed link of the page that manages it (the booking page goes there, so a reload keeps it)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.support import Clinic, patient

Client = AsyncTestClient[Litestar]
ADMIN = {"Authorization": "Bearer test-admin-token"}


async def confirm(client: Client, clinic: Clinic, start: str, who: dict[str, str]) -> Any:
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start},
        headers=who,
    )
    assert r.status_code == 201, r.text
    held = r.json()
    return await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Pat Test", "email": "pat@example.org", "timezone": "Europe/Berlin"}},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )


async def test_a_patient_confirm_answers_the_reference_and_the_manage_link(
    client: Client, clinic: Clinic, settings: Settings
) -> None:
    r = await confirm(client, clinic, clinic.at(3, 10), await patient(client, clinic))
    assert r.status_code == 201, r.text
    body = r.json()
    appointment = body["appointment"]
    assert re.fullmatch(r"BK-[0-9A-F]{8}", appointment["reference"])
    assert appointment["reference"] == "BK-" + appointment["id"].replace("-", "")[:8].upper()
    assert body["manage_url"].startswith(f"{settings.public_url}/manage/mng_")

    # the link opens the manage page (it survives a reload) and the appointment, same reference
    path = body["manage_url"].removeprefix(settings.public_url)
    page = await client.get(path)
    assert page.status_code == 200 and appointment["id"] in page.text
    token = path.rsplit("/", 1)[1]
    r = await client.get(f"/v1/appointments/{appointment['id']}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["reference"] == appointment["reference"]
    # and every list shows it too
    r = await client.get("/v1/appointments", params={"doctor_id": clinic.doctor_id}, headers=ADMIN)
    assert [a["reference"] for a in r.json()["items"]] == [appointment["reference"]]


async def test_staff_confirms_get_the_reference_but_no_link(client: Client, clinic: Clinic) -> None:
    r = await confirm(client, clinic, clinic.at(3, 11), ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["manage_url"] is None
    assert r.json()["appointment"]["reference"].startswith("BK-")


async def test_the_reference_is_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    props = schema["components"]["schemas"]
    appointment = next(v for k, v in props.items() if k.endswith("AppointmentOut"))
    assert appointment["properties"]["reference"]["type"] == "string"
    confirm_out = next(v for k, v in props.items() if k.endswith("ConfirmOut"))
    assert "manage_url" in confirm_out["properties"]
