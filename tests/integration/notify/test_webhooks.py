"""Webhooks: signed per Standard Webhooks, filtered by event type, retried under the same id,
replayed, logged, and a subscription failing for days disabled with its admins told."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.notify.assembly import build_worker
from gateway.notify.worker import Worker
from gateway.settings import Settings
from gateway.webhooks.service import EVENT_TYPES
from store import outbox
from store.pool import open_pool
from store.types import Pool
from tests.integration.appointments.lifecycle_support import PATIENT, book
from tests.integration.notify.webhook_support import (
    Client,
    Receiver,
    admin_key,
    due_now,
    notify_settings,
    sql,
    subscribe,
)
from tests.support import Clinic, patient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receivers listen on loopback: private addresses allowed; the tests drive the workers."""
    return notify_settings(settings, webhook_allow_private=True)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    db = await open_pool(settings.database)
    yield db
    await db.close()


@pytest.fixture
def worker(settings: Settings, pool: Pool) -> Worker:
    return build_worker(settings, pool)


@pytest.fixture
async def org_admin(client: Client, admin: dict[str, str], clinic: Clinic) -> dict[str, str]:
    return await admin_key(client, admin, clinic.organisation_id)


async def deliveries(settings: Settings) -> list[dict[str, Any]]:
    found = await sql(
        settings,
        "SELECT d.status, d.attempts, d.last_status_code, d.last_error, o.event_type FROM deliveries d"
        " JOIN outbox o ON o.id = d.outbox_id WHERE d.channel = 'webhook' ORDER BY d.outbox_id, d.target",
    )
    return [dict(r) for r in found]


async def test_a_booking_reaches_the_subscriber_signed_and_a_retry_keeps_its_id(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    async with Receiver(answers=[500]) as receiver:
        created = await subscribe(
            client, org_admin, clinic.organisation_id, receiver.url,
            headers={"Authorization": "Bearer partner-token", "X-Tenant": "42"}, description="CRM",
        )  # fmt: skip
        secret = created["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert created["headers"] == {"Authorization": "Bearer partner-token", "X-Tenant": "42"}
        stored = (await sql(settings, "SELECT secret_ciphertext FROM webhooks"))[0][0]
        assert secret.encode() not in stored and secret.removeprefix("whsec_").encode() not in stored

        appointment = await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
        await worker.pass_once()
        assert len(receiver.requests) == 1
        assert await deliveries(settings) == [
            {"status": "pending", "attempts": 1, "last_status_code": 500,
             "last_error": "HTTP 500 Internal Server Error", "event_type": "appointment.booked"},
        ]  # fmt: skip
        failing = (await sql(settings, "SELECT failing_since FROM webhooks"))[0][0]
        assert failing is not None

        await due_now(settings)  # the retry's time has come
        await worker.pass_once()
    first, retry = receiver.requests
    message_id = (await sql(settings, "SELECT message_id FROM outbox"))[0][0]
    assert receiver.ids() == [f"msg_{message_id}"] * 2, "a retry keeps the webhook-id"
    for request in (first, retry):
        body = Webhook(secret).verify(request.body, request.headers)
        assert request.method == "POST" and request.target == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["authorization"] == "Bearer partner-token"
        assert request.headers["x-tenant"] == "42"
    assert first.body == retry.body, "the message is the same; only its timestamp header and signature may differ"
    assert body["type"] == "appointment.booked"
    assert body["timestamp"].endswith("Z")
    told = body["data"]["appointment"]
    assert told["id"] == appointment["id"] and told["patient"]["email"] == PATIENT["email"]
    assert told["join_url"] == f"{settings.public_url}/v1/appointments/{appointment['id']}/join"
    assert "meeting_url" not in told and "meet." not in retry.body.decode()  # invariant 10
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(first.body, first.headers)

    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in await deliveries(settings)] == [
        ("delivered", 2, 204)
    ]
    assert (await sql(settings, "SELECT failing_since FROM webhooks"))[0][0] is None, "a success clears it"
    r = await client.get(f"/v1/admin/organisations/{clinic.organisation_id}/webhooks", headers=org_admin)
    assert r.status_code == 200
    (listed,) = r.json()
    assert "secret" not in listed and listed["description"] == "CRM"
    assert listed["headers"] == {"Authorization": "********", "X-Tenant": "42"}


async def test_each_subscription_gets_only_its_event_types(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    org = clinic.organisation_id
    async with Receiver() as booked, Receiver() as cancelled, Receiver() as everything, Receiver() as off:
        await subscribe(client, org_admin, org, booked.url, ["appointment.booked"])
        await subscribe(client, org_admin, org, cancelled.url, ["appointment.cancelled", "review.created"])
        await subscribe(client, org_admin, org, everything.url, ["appointment.booked", "appointment.cancelled"])
        disabled = await subscribe(client, org_admin, org, off.url, ["appointment.booked"])
        deleted = await subscribe(client, org_admin, org, off.url, ["appointment.cancelled"])
        base = f"/v1/admin/organisations/{org}/webhooks"
        r = await client.patch(f"{base}/{disabled['id']}", json={"enabled": False}, headers=org_admin)
        assert r.status_code == 200 and r.json()["disabled_reason"] == "disabled by an admin"
        assert (await client.delete(f"{base}/{deleted['id']}", headers=org_admin)).status_code == 204
        assert (await client.delete(f"{base}/{deleted['id']}", headers=org_admin)).status_code == 404

        who = await patient(client, clinic)
        appointment = await book(client, clinic, clinic.at(3, 9), who)
        r = await client.post(f"/v1/appointments/{appointment['id']}/cancel", json={"reason": "better"}, headers=who)
        assert r.status_code == 200, r.text
        await worker.pass_once()
    assert booked.types() == ["appointment.booked"]
    assert cancelled.types() == ["appointment.cancelled"]
    assert sorted(everything.types()) == ["appointment.booked", "appointment.cancelled"]
    assert off.requests == [], "disabled and deleted subscriptions get nothing"
    r = await client.get(f"/v1/admin/organisations/{org}/webhooks", headers=org_admin)
    assert len(r.json()) == 4, "a deleted subscription is not listed"


async def test_replay_sends_again_with_the_same_id_also_during_an_attempt(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    async with Receiver() as receiver:
        hook = await subscribe(client, org_admin, clinic.organisation_id, receiver.url)
        await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
        await worker.pass_once()
        r = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=org_admin)
        (item,) = r.json()["items"]
        assert item["status"] == "delivered" and item["attempts"] == 1

        r = await client.post(f"/v1/admin/webhook-deliveries/{item['id']}/replay", headers=org_admin)
        assert r.status_code == 202, r.text
        assert r.json() == {"id": item["id"], "status": "pending", "after_attempt_under_way": False}
        await worker.pass_once()
        assert len(receiver.requests) == 2

        # a replay asked for while an attempt is under way follows that attempt
        receiver.gate, receiver.arrived = asyncio.Event(), asyncio.Event()
        await sql(settings, "UPDATE deliveries SET status = 'pending', next_attempt_at = now()")
        attempt = asyncio.create_task(worker.deliver())
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        r = await client.post(f"/v1/admin/webhook-deliveries/{item['id']}/replay", headers=org_admin)
        assert r.status_code == 202 and r.json()["after_attempt_under_way"] is True
        receiver.gate.set()
        assert await attempt == 1
        assert await worker.deliver() == 1, "the replay is due once the attempt has finished"
    assert len(receiver.requests) == 4
    assert len(set(receiver.ids())) == 1, "the same webhook-id every time"
    r = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=org_admin)
    (item,) = r.json()["items"]
    assert (item["status"], item["attempts"], item["message_id"]) == ("delivered", 4, receiver.ids()[0])


async def test_a_subscription_failing_for_days_is_disabled_and_its_admins_told_once(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    every = list(EVENT_TYPES)  # all a subscription may ask for
    async with Receiver(default=503) as failing, Receiver() as healthy:
        hook = await subscribe(client, org_admin, clinic.organisation_id, failing.url, description="ERP")
        await subscribe(client, org_admin, clinic.organisation_id, healthy.url, every)
        who = await patient(client, clinic)
        await book(client, clinic, clinic.at(3, 9), who)
        await worker.pass_once()
        assert (await sql(settings, "SELECT enabled FROM webhooks WHERE id = $1", uuid.UUID(hook["id"])))[0][0]

        # three days of failures later, two more messages fail in one pass (concurrently): the
        # receiver answers neither before both arrived, or the first failure's disable could stop
        # the second before it is sent (right, but not the case this test is about)
        await sql(settings, "UPDATE webhooks SET failing_since = now() - interval '73 hours'")
        await book(client, clinic, clinic.at(3, 11), who)
        await due_now(settings)
        failing.gate = asyncio.Event()
        both = asyncio.create_task(_open_gate_at(failing, 3))
        await worker.pass_once()
        await both
        assert len(failing.requests) == 3
        row = (await sql(settings, "SELECT * FROM webhooks WHERE id = $1", uuid.UUID(hook["id"])))[0]
        assert row["enabled"] is False
        assert "more than 72 hours" in row["disabled_reason"]
        told = await sql(settings, "SELECT organisation_id, data FROM outbox WHERE event_type = 'webhook.disabled'")
        assert len(told) == 1, "one notice, however many failures decided it"
        assert str(told[0]["organisation_id"]) == clinic.organisation_id
        assert told[0]["data"] == {"webhook": {
            "id": hook["id"], "url": failing.url, "description": "ERP", "disabled_reason": row["disabled_reason"],
        }}  # fmt: skip

        await book(client, clinic, clinic.at(3, 13), who)
        await due_now(settings)
        await worker.pass_once()
        await worker.pass_once()
        assert len(failing.requests) == 3, "a disabled subscription is sent nothing more"
    assert "webhook.disabled" not in healthy.types(), "an internal event never goes to a webhook"
    assert healthy.types() == ["appointment.booked"] * 3
    mine = await sql(settings, "SELECT status, last_error FROM deliveries WHERE webhook_id = $1", uuid.UUID(hook["id"]))
    assert {r["status"] for r in mine} == {"dead"}, "pending ones end dead when attempted; no new ones"
    assert len(mine) == 2

    r = await client.patch(
        f"/v1/admin/organisations/{clinic.organisation_id}/webhooks/{hook['id']}", json={"enabled": True},
        headers=org_admin,
    )  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["enabled"], r.json()["disabled_reason"], r.json()["failing_since"]) == (True, None, None)


async def test_410_gone_disables_at_once(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    async with Receiver(default=410) as gone:
        hook = await subscribe(client, org_admin, clinic.organisation_id, gone.url)
        await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
        await worker.pass_once()
    assert [(d["status"], d["last_status_code"]) for d in await deliveries(settings)] == [("dead", 410)]
    r = await client.get(f"/v1/admin/organisations/{clinic.organisation_id}/webhooks", headers=org_admin)
    (listed,) = r.json()
    assert listed["id"] == hook["id"] and listed["enabled"] is False
    assert listed["disabled_reason"] == "the endpoint answered 410 Gone"
    assert len(await sql(settings, "SELECT 1 FROM outbox WHERE event_type = 'webhook.disabled'")) == 1
    r = await client.post(f"/v1/admin/webhook-deliveries/{(await _ids(settings))[0]}/replay", headers=org_admin)
    assert r.status_code == 409 and r.json()["code"] == "webhook_disabled"


async def _open_gate_at(receiver: Receiver, count: int) -> None:
    """Open the receiver's gate once ``count`` requests have arrived (after 10 s regardless, so a
    worker that sends one at a time fails the test's count rather than hanging it)."""
    assert receiver.gate is not None
    try:
        async with asyncio.timeout(10):
            while True:
                receiver.arrived.clear()
                if len(receiver.requests) >= count:
                    break
                await receiver.arrived.wait()
    except TimeoutError:
        pass
    receiver.gate.set()


async def _ids(settings: Settings) -> list[str]:
    return [str(r[0]) for r in await sql(settings, "SELECT id FROM deliveries ORDER BY outbox_id")]


async def test_the_deliveries_log_pages_newest_first_with_attempts_and_codes(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    async with Receiver(answers=[500, 502, 204, 204, 500]) as receiver:
        hook = await subscribe(client, org_admin, clinic.organisation_id, receiver.url)
        for hour in (9, 10, 11, 12, 13):
            await book(client, clinic, clinic.at(3, hour), await patient(client, clinic))
            await worker.pass_once()  # one expanding transaction per message: distinct created_at
            await sql(settings, "UPDATE deliveries SET next_attempt_at = now() + interval '1 hour'")
        await due_now(settings)
        await worker.pass_once()  # the three failures again: 204, 204... and the last answers default
    message_ids = [r[0] for r in await sql(settings, "SELECT message_id FROM outbox ORDER BY id DESC")]
    seen: list[dict[str, Any]] = []
    url = f"/v1/admin/webhooks/{hook['id']}/deliveries?limit=2"
    pages = 0
    while url:
        r = await client.get(url, headers=org_admin)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        url = f"/v1/admin/webhooks/{hook['id']}/deliveries?limit=2&cursor={cursor}" if cursor else ""
    assert pages == 3
    assert [d["message_id"] for d in seen] == [f"msg_{m}" for m in message_ids], "newest first, each once"
    assert [(d["attempts"], d["last_status_code"], d["status"]) for d in seen] == [
        (2, 204, "delivered"), (1, 204, "delivered"), (1, 204, "delivered"), (2, 204, "delivered"),
        (2, 204, "delivered"),
    ]  # fmt: skip
    assert all(d["next_attempt_at"] is None and d["event_type"] == "appointment.booked" for d in seen)
    assert set(seen[0]) >= {"id", "event_type", "message_id", "status", "attempts", "last_status_code",
                            "next_attempt_at", "created_at", "last_error"}  # fmt: skip

    bad = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries?cursor=nonsense", headers=org_admin)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
    bad = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries?limit=0", headers=org_admin)
    assert bad.status_code == 422


async def test_a_pending_delivery_shows_when_it_is_due(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], worker: Worker
) -> None:
    async with Receiver(default=500) as receiver:
        hook = await subscribe(client, org_admin, clinic.organisation_id, receiver.url)
        await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
        await worker.pass_once()
    r = await client.get(f"/v1/admin/webhooks/{hook['id']}/deliveries", headers=org_admin)
    (item,) = r.json()["items"]
    assert (item["status"], item["attempts"], item["last_status_code"]) == ("pending", 1, 500)
    assert item["next_attempt_at"] is not None and item["last_error"] == "HTTP 500 Internal Server Error"


async def test_two_workers_on_one_outbox_deliver_each_message_once(
    client: Client, clinic: Clinic, settings: Settings, org_admin: dict[str, str], pool: Pool
) -> None:
    org = uuid.UUID(clinic.organisation_id)
    async with Receiver() as first, Receiver() as second:
        await subscribe(client, org_admin, clinic.organisation_id, first.url, ["review.created"])
        await subscribe(client, org_admin, clinic.organisation_id, second.url, ["review.created"])
        async with pool.acquire() as conn, conn.transaction():
            for n in range(30):
                await outbox.enqueue(conn, org, "review.created", {"review": {"rating": 5, "n": n}})
        workers = [build_worker(settings, pool) for _ in range(2)]
        for w in workers:
            w.batch = 7
        for _ in range(30):
            done = await asyncio.gather(*(w.pass_once() for w in workers))
            left = await sql(settings, "SELECT count(*) FROM deliveries WHERE status = 'pending'")
            unexpanded = await sql(settings, "SELECT count(*) FROM outbox WHERE expanded_at IS NULL")
            if not any(done) and left[0][0] == 0 and unexpanded[0][0] == 0:
                break
    for receiver in (first, second):
        assert len(receiver.requests) == 30
        assert len(set(receiver.ids())) == 30, "no message twice"
    assert sorted(msgspec.json.decode(r.body)["data"]["review"]["n"] for r in first.requests) == list(range(30))
    assert sum(w.sent for w in workers) == 60 and all(w.sent for w in workers), "both workers took a share"
