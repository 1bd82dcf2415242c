"""Who can be told: the doctor's email and mobile number, the organisation's admin addresses and
low-rating threshold (set, checked, kept from the public), and who gets which message."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.assembly import build_worker
from gateway.notify.recipients import Parties, decide
from gateway.settings import Settings
from store.models import Doctor, Organisation
from tests.integration.notify.messaging_support import (
    Inbox,
    confirm,
    deliveries,
    pool,
    settle,
    smtp_server,
    with_notify,
)
from tests.support import Clinic, make_clinic, patient
from tests.support import sql as rows

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's own worker off: the tests that deliver drive a worker of their own."""
    return with_notify(settings)


async def _key(client: Client, admin: Headers, organisation_id: str) -> Headers:
    r = await client.post(f"/v1/admin/organisations/{organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def _credential(client: Client, admin: Headers, doctor_id: str) -> Headers:
    r = await client.post(f"/v1/admin/doctors/{doctor_id}/credentials", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _doctor_row(settings: Settings, doctor_id: str) -> tuple[str | None, str | None]:
    (row,) = await rows(settings, "SELECT email, mobile_phone FROM doctors WHERE id = $1", uuid.UUID(doctor_id))
    return row["email"], row["mobile_phone"]


async def test_admins_set_a_doctors_contacts_and_the_public_never_sees_them(
    client: Client, clinic: Clinic, admin: Headers, settings: Settings
) -> None:
    org_admin = await _key(client, admin, clinic.organisation_id)
    r = await client.patch(
        f"/v1/admin/doctors/{clinic.doctor_id}",
        json={"email": " doc@clinic.example ", "mobile_phone": "+49 (30) 9018-20"},
        headers=org_admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["mobile_phone"]) == ("doc@clinic.example", "+4930901820")
    assert await _doctor_row(settings, clinic.doctor_id) == ("doc@clinic.example", "+4930901820")

    public = (await client.get(f"/v1/doctors/{clinic.doctor_id}")).json()
    assert public["name"] == "Dr. Test" and public["timezone"] == "Europe/Berlin"
    assert "email" not in public and "mobile_phone" not in public
    assert "+4930901820" not in (await client.get(f"/v1/doctors/{clinic.doctor_id}", headers=org_admin)).text
    staff = (await client.get(f"/v1/organisations/{clinic.organisation_id}/doctors", headers=org_admin)).json()
    assert [(d["email"], d["mobile_phone"]) for d in staff] == [("doc@clinic.example", "+4930901820")]
    page = await client.get(f"/book/{clinic.doctor_id}?appointment_type_id={clinic.type_30}")
    assert page.status_code == 200 and "doc@clinic.example" not in page.text and "+4930901820" not in page.text

    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json={"mobile_phone": None}, headers=admin)
    assert r.status_code == 200, r.text
    assert await _doctor_row(settings, clinic.doctor_id) == ("doc@clinic.example", None)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"mobile_phone": "0151 2345678"}, "invalid_phone"),  # national, no country code
        ({"mobile_phone": "+0151234567"}, "invalid_phone"),  # no country code starts with 0
        ({"mobile_phone": "+49151"}, "invalid_phone"),  # too short
        ({"mobile_phone": "+4915123456789012"}, "invalid_phone"),  # 16 digits: too long
        ({"mobile_phone": "+49 151 abc"}, "invalid_phone"),
        ({"email": "not-an-address"}, "invalid_email"),
        ({"email": "doc@clinic"}, "invalid_email"),
        ({"email": "doc@clinic.example\r\nBcc: x@y.example"}, "invalid_email"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"mobile_phone": 4915123456789}, "validation_error"),
        ({"fax": "+4930901820"}, "validation_error"),
    ],
)
async def test_bad_contacts_are_refused_and_nothing_is_written(
    client: Client, clinic: Clinic, admin: Headers, settings: Settings, body: dict[str, object], code: str
) -> None:
    good = {"email": "doc@clinic.example"} if "email" not in body else {"mobile_phone": "+4930901820"}
    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json=good | body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert await _doctor_row(settings, clinic.doctor_id) == (None, None)  # not even the good field


async def test_a_doctor_sets_their_own_contacts_and_nothing_else(
    client: Client, clinic: Clinic, admin: Headers, settings: Settings
) -> None:
    own = await _credential(client, admin, clinic.doctor_id)
    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json={"mobile_phone": "+15551234567"}, headers=own)
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json={"name": "Dr. Self"}, headers=own)
    assert r.status_code == 403
    other_clinic = await make_clinic(client, admin)
    strangers = [
        {},
        await _credential(client, admin, other_clinic.doctor_id),
        await _key(client, admin, other_clinic.organisation_id),
        await patient(client, clinic),
    ]
    for headers in strangers:
        r = await client.patch(
            f"/v1/admin/doctors/{clinic.doctor_id}", json={"email": "x@evil.example"}, headers=headers
        )
        assert r.status_code in (401, 403), r.text
    assert await _doctor_row(settings, clinic.doctor_id) == (None, "+15551234567")
    r = await client.patch(f"/v1/admin/doctors/{uuid.uuid4()}", json={"email": "a@b.example"}, headers=admin)
    assert r.status_code == 404


async def test_organisation_admin_addresses_and_threshold(client: Client, clinic: Clinic, admin: Headers) -> None:
    org_admin = await _key(client, admin, clinic.organisation_id)
    path = f"/v1/admin/organisations/{clinic.organisation_id}"
    assert (await client.get(path, headers=org_admin)).json()["low_rating_threshold"] == 2  # the default
    body = {"admin_emails": ["a@clinic.example", "B@clinic.example", "b@CLINIC.example"], "low_rating_threshold": 0}
    r = await client.patch(path, json=body, headers=org_admin)
    assert r.status_code == 200, r.text
    assert r.json()["admin_emails"] == ["a@clinic.example", "B@clinic.example"]  # repeats dropped
    assert r.json()["low_rating_threshold"] == 0
    r = await client.patch(path, json={"allowed_origins": ["https://partner.example"]}, headers=org_admin)
    assert r.status_code == 200, r.text
    assert r.json()["admin_emails"] == ["a@clinic.example", "B@clinic.example"]  # untouched by another field

    refused = [
        ({"low_rating_threshold": 6}, "validation_error"),
        ({"low_rating_threshold": -1}, "validation_error"),
        ({"admin_emails": [f"a{i}@clinic.example" for i in range(21)]}, "validation_error"),
        ({"admin_emails": ["fine@clinic.example", "broken"], "allowed_origins": []}, "invalid_email"),
    ]
    for bad, code in refused:
        r = await client.patch(path, json=bad, headers=org_admin)
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
    after = (await client.get(path, headers=org_admin)).json()
    assert after["admin_emails"] == ["a@clinic.example", "B@clinic.example"]
    assert after["allowed_origins"] == ["https://partner.example"]  # the refused body wrote nothing
    assert after["low_rating_threshold"] == 0

    other = await make_clinic(client, admin)
    for headers in (
        await _key(client, admin, other.organisation_id),
        await _credential(client, admin, clinic.doctor_id),
    ):
        r = await client.patch(path, json={"admin_emails": ["x@evil.example"]}, headers=headers)
        assert r.status_code == 403, r.text


def test_one_address_gets_one_message_and_sms_only_reaches_e164_numbers() -> None:
    """The recipient table alone (no I/O): repeats collapse, SMS skips numbers it cannot use."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    org = Organisation(
        id=uuid.uuid4(), name="C", slug="c", created_at=now, admin_emails=["pat@example.org", "b@c.example"]
    )
    doctor = Doctor(id=uuid.uuid4(), organisation_id=org.id, name="D", timezone="UTC", created_at=now,
                    email="PAT@example.org", mobile_phone="+4930901820")  # fmt: skip
    appointment = {"patient": {"email": "pat@example.org", "phone": "030 123"}, "doctor_id": str(doctor.id)}
    parties = Parties(org, doctor)
    booked = decide("appointment.booked", {"appointment": appointment}, parties, "email")
    assert [(t.recipient, t.target) for t in booked] == [("patient", "pat@example.org")]
    assert decide("appointment.booked", {"appointment": appointment}, parties, "sms") == []
    assert decide("appointment.no_show", {"appointment": appointment}, parties, "email") == []
    rule = {"recipient": "patient", "send_email": False, "send_sms": True}
    assert decide("appointment.reminder", {"appointment": appointment, "reminder": rule}, parties, "sms") == []
    rule = {"recipient": "doctor", "send_email": False, "send_sms": True}
    texts = decide("appointment.reminder", {"appointment": appointment, "reminder": rule}, parties, "sms")
    assert [(t.recipient, t.target) for t in texts] == [("doctor", "+4930901820")]
    assert decide("appointment.reminder", {"appointment": appointment, "reminder": rule}, parties, "email") == []
    low = decide("review.low_rating", {"appointment": appointment, "review": {}}, parties, "email")
    assert [(t.recipient, t.target) for t in low] == [("admins", "pat@example.org"), ("admins", "b@c.example")]


async def test_without_smtp_no_email_is_planned(client: Client, clinic: Clinic, settings: Settings) -> None:
    quiet = with_notify(settings)
    assert quiet.notify.smtp_url is None and quiet.notify.sms_url is None
    await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), {"name": "P", "email": "p@e.org"})
    async with pool(quiet) as db:
        await settle(build_worker(quiet, db), quiet)
    assert await deliveries(quiet, "email") == [] and await deliveries(quiet, "sms") == []


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as found:
        yield found


async def test_a_move_to_another_doctor_tells_both_doctors(
    client: Client, admin: Headers, settings: Settings, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    mailing = with_notify(settings, smtp_url=url)
    clinic = await make_clinic(client, admin, rebooking_mode="any_doctor")
    body = {"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": "Europe/Berlin"}
    r = await client.post("/v1/admin/doctors", json=body, headers=admin)
    second = r.json()["id"]
    for weekday in range(1, 8):
        window = {"weekday": weekday, "start_minute": 0, "end_minute": 1440}
        r = await client.post(f"/v1/doctors/{second}/availability-windows", json=window, headers=admin)
        assert r.status_code == 201, r.text
    for doctor, address in ((clinic.doctor_id, "one@clinic.example"), (second, "two@clinic.example")):
        r = await client.patch(f"/v1/admin/doctors/{doctor}", json={"email": address}, headers=admin)
        assert r.status_code == 200, r.text
    who = await patient(client, clinic)
    first = await confirm(client, clinic, clinic.at(3, 9), who, {"name": "Pat", "email": "pat@example.org"})
    body = {"doctor_id": second, "appointment_type_id": clinic.type_30, "start": clinic.at(4, 10)}
    held = (await client.post("/v1/holds", json=body, headers=who)).json()
    r = await client.post(f"/v1/appointments/{first['id']}/reschedule", json={"hold_id": held["hold_id"]},
                          headers={"X-Hold-Token": held["hold_token"], **who})  # fmt: skip
    assert r.status_code == 201, r.text
    async with pool(mailing) as db:
        await settle(build_worker(mailing, db), mailing)
    (left,) = [m for m in inbox.to("one@clinic.example") if "another doctor" in m.message["Subject"]]
    assert "no longer in your schedule" in left.text
    (arrived,) = [m for m in inbox.to("two@clinic.example") if m.message["Subject"].startswith("Moved")]
    assert "Hello Dr. Two," in arrived.text and "with Dr. Test" in arrived.text  # where it came from
    assert sorted(m.message["Subject"].split(":")[0] for m in inbox.to("pat@example.org")) == ["Booked", "Moved"]
