"""The webhook routes: who may use them (tenants never see each other), what they refuse (SSRF,
unknown event types, headers that could break the request) and that a refusal writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.notify.assembly import build_worker
from gateway.settings import Settings
from store.pool import open_pool
from tests.integration.appointments.lifecycle_support import book
from tests.integration.notify.webhook_support import Client, admin_key, notify_settings, sql, subscribe
from tests.support import Clinic, make_clinic, patient

HOOK = "http://127.0.0.1:9/hook"
"""A receiver nobody runs: these tests expand messages into deliveries but never send them."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return notify_settings(settings, webhook_allow_private=True)


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[Client]:
    """A client on an app with the default ``GATEWAY_WEBHOOK_ALLOW_PRIVATE=off``."""
    async with AsyncTestClient(app=create_app(notify_settings(settings, webhook_allow_private=False))) as c:
        yield c


async def count(settings: Settings) -> int:
    return int((await sql(settings, "SELECT count(*) FROM webhooks"))[0][0])


REFUSED_URLS = [
    "https://127.0.0.1/hook",
    "https://127.0.0.1:6379/",
    "https://10.0.0.1/hook",
    "https://192.168.1.20/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://localhost/hook",  # a name: resolved, then refused
    "http://93.184.215.14/hook",  # clear text
    "https://user:secret@93.184.215.14/hook",
    "ftp://93.184.215.14/hook",
    "not a url at all",
]


async def test_urls_reaching_private_addresses_are_refused_by_default(
    strict: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(strict, admin)
    answers = {}
    for url in REFUSED_URLS:
        r = await strict.post(
            f"/v1/admin/organisations/{clinic.organisation_id}/webhooks",
            json={"url": url, "event_types": ["appointment.booked"]},
            headers=admin,
        )
        answers[url] = (r.status_code, r.json()["code"])
    assert answers == dict.fromkeys(REFUSED_URLS, (422, "webhook_url_refused"))
    assert await count(settings) == 0


async def test_a_changed_url_is_checked_again(strict: Client, admin: dict[str, str], settings: Settings) -> None:
    clinic = await make_clinic(strict, admin)
    base = f"/v1/admin/organisations/{clinic.organisation_id}/webhooks"
    # a public address literal: accepted without a request (and none is ever sent in this test)
    r = await strict.post(base, json={"url": "https://93.184.215.14/hook", "event_types": ["review.created"]},
                          headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    hook = r.json()
    r = await strict.patch(f"{base}/{hook['id']}", json={"url": "https://169.254.169.254/x"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "webhook_url_refused"
    r = await strict.get(base, headers=admin)
    assert [h["url"] for h in r.json()] == ["https://93.184.215.14/hook"]


BAD_BODIES = [
    ({"url": "https://", "event_types": ["appointment.booked"]}, "webhook_url_refused"),
    ({"url": "short", "event_types": ["appointment.booked"]}, "validation_error"),
    ({"url": HOOK, "event_types": []}, "validation_error"),
    ({"url": HOOK, "event_types": ["appointment.booked", "appointment.exploded"]}, "unknown_event_type"),
    ({"url": HOOK, "event_types": ["webhook.disabled"]}, "unknown_event_type"),  # internal
    ({"url": HOOK, "event_types": "appointment.booked"}, "validation_error"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {f"X-H{i}": "v" for i in range(11)}},
     "too_many_headers"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"X-Big": "v" * 1000, **{
        f"X-H{i}": "v" * 1000 for i in range(4)}}}, "too_many_headers"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Bad Header": "x"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"": "x"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"webhook-id": "msg_x"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Webhook-Signature": "v1,x"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Content-Type": "text/plain"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Content-Length": "0"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Host": "evil.example"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Transfer-Encoding": "chunked"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"Connection": "close"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"X-A": "a\r\nX-B: b"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"X-A": "é"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"X-A": "v" * 1025}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"x-a": "1", "X-A": "2"}}, "invalid_header"),
    ({"url": HOOK, "event_types": ["review.created"], "headers": {"X-A": 5}}, "validation_error"),
    ({"url": HOOK, "event_types": ["review.created"], "description": "d" * 501}, "validation_error"),
    ({"url": HOOK, "event_types": ["review.created"], "secret": "whsec_mine"}, "validation_error"),
]  # fmt: skip


async def test_bad_subscriptions_get_a_clear_422_and_write_nothing(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    wrong = []
    for body, code in BAD_BODIES:
        r = await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/webhooks", json=body, headers=admin)
        if (r.status_code, r.json()["code"]) != (422, code):
            wrong.append(f"{body}: {r.status_code} {r.text}")
    assert wrong == []
    assert await count(settings) == 0


async def test_other_bad_requests(client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings) -> None:
    base = f"/v1/admin/organisations/{clinic.organisation_id}/webhooks"
    r = await client.post(base, content=b"{not json", headers=admin | {"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    r = await client.post(f"/v1/admin/organisations/{uuid.uuid4()}/webhooks",
                          json={"url": HOOK, "event_types": ["review.created"]}, headers=admin)  # fmt: skip
    assert r.status_code == 404
    hook = await subscribe(
        client, admin, clinic.organisation_id, HOOK, ["review.created"],
        headers={"Authorization": "Basic cGFydG5lcjpwdw==", "X-Api-Version": "2"},
    )  # fmt: skip
    assert hook["headers"]["Authorization"] == "Basic cGFydG5lcjpwdw==", "Authorization is allowed"
    for patch_body, code in [
        ({"event_types": ["nope.nope"]}, "unknown_event_type"),
        ({"headers": {"Upgrade": "h2c"}}, "invalid_header"),
        ({"url": "gopher://127.0.0.1/"}, "webhook_url_refused"),
        ({"enabled": "yes"}, "validation_error"),
        ({"id": str(uuid.uuid4())}, "validation_error"),
    ]:
        r = await client.patch(f"{base}/{hook['id']}", json=patch_body, headers=admin)
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
    r = await client.patch(f"{base}/{hook['id']}", json={"description": "CRM", "event_types": ["review.low_rating"]},
                           headers=admin)  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["description"], r.json()["event_types"]) == ("CRM", ["review.low_rating"])
    r = await client.patch(f"{base}/{hook['id']}", json={"description": None}, headers=admin)
    assert r.json()["description"] is None and r.json()["event_types"] == ["review.low_rating"]
    assert (await client.patch(f"{base}/{uuid.uuid4()}", json={}, headers=admin)).status_code == 404
    assert (await client.delete(f"{base}/{uuid.uuid4()}", headers=admin)).status_code == 404
    assert (await client.get(f"/v1/admin/webhooks/{uuid.uuid4()}/deliveries", headers=admin)).status_code == 404
    r = await client.post(f"/v1/admin/webhook-deliveries/{uuid.uuid4()}/replay", headers=admin)
    assert r.status_code == 404
    for _ in range(19):
        await subscribe(client, admin, clinic.organisation_id, HOOK, ["review.created"])
    r = await client.post(base, json={"url": HOOK, "event_types": ["review.created"]}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "too_many_webhooks"
    assert await count(settings) == 20


async def test_an_organisation_never_sees_or_touches_another_ones_webhooks(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    other = await make_clinic(client, admin)
    mine, theirs = (
        await admin_key(client, admin, clinic.organisation_id),
        await admin_key(client, admin, other.organisation_id),
    )
    hook = await subscribe(client, theirs, other.organisation_id, HOOK)
    await book(client, other, other.at(3, 9), await patient(client, other))
    pool = await open_pool(settings.database)
    try:
        await build_worker(settings, pool).expand()  # the delivery exists; nothing is sent
    finally:
        await pool.close()
    (delivery,) = [str(r[0]) for r in await sql(settings, "SELECT id FROM deliveries")]
    theirs_base = f"/v1/admin/organisations/{other.organisation_id}/webhooks"
    mine_base = f"/v1/admin/organisations/{clinic.organisation_id}/webhooks"
    body = {"url": HOOK, "event_types": ["review.created"]}

    forbidden = [
        await client.get(theirs_base, headers=mine),
        await client.post(theirs_base, json=body, headers=mine),
        await client.patch(f"{theirs_base}/{hook['id']}", json={"enabled": False}, headers=mine),
        await client.delete(f"{theirs_base}/{hook['id']}", headers=mine),
    ]
    assert [r.status_code for r in forbidden] == [403] * 4
    hidden = [
        await client.patch(f"{mine_base}/{hook['id']}", json={"enabled": False}, headers=mine),
        await client.delete(f"{mine_base}/{hook['id']}", headers=mine),
        await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=mine),
        await client.post(f"/v1/admin/webhook-deliveries/{delivery}/replay", headers=mine),
    ]
    assert [r.status_code for r in hidden] == [404] * 4, "another organisation's webhook does not exist for me"
    assert (await client.get(mine_base, headers=mine)).json() == []

    r = await client.post(f"/v1/admin/doctors/{other.doctor_id}/credentials", headers=admin)
    doctor = {"Authorization": f"Bearer {r.json()['token']}"}
    session = await patient(client, other)
    for who in (doctor, session):
        assert (await client.get(theirs_base, headers=who)).status_code == 403
        assert (await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=who)).status_code == 403
        assert (await client.post(f"/v1/admin/webhook-deliveries/{delivery}/replay", headers=who)).status_code == 403
    assert (await client.get(theirs_base)).status_code == 401
    assert (await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries")).status_code == 401

    for who in (theirs, admin):  # its own admins, and the platform operator
        r = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=who)
        assert r.status_code == 200 and len(r.json()["items"]) == 1
    rows = await sql(
        settings, "SELECT enabled, deleted_at, status FROM webhooks w JOIN deliveries d ON d.webhook_id = w.id"
    )
    assert [tuple(r) for r in rows] == [(True, None, "pending")], "nothing was changed by the other organisation"
