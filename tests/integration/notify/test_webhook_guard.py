"""The sender's side of the address guard, and how an attempt fails: the address is checked at
every connection and the connection goes to the address checked (no DNS rebinding), redirects are
not followed, a silent receiver times out, and secrets are sealed for one subscription."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.notify.webhooks import WebhookChannel, webhook_channel
from gateway.notify.worker import Worker
from gateway.settings import Settings
from gateway.webhooks.service import WebhookSecrets, new_secret
from gateway.webhooks.ssrf import Resolver, check_url
from store.pool import open_pool
from store.types import Pool
from tests.integration.appointments.lifecycle_support import book
from tests.integration.notify.webhook_support import Client, Receiver, notify_settings, sql, subscribe
from tests.support import Clinic, patient

PUBLIC = "93.184.215.14"
"""A public address the resolvers below may name; nothing in these tests connects to it."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return notify_settings(settings, webhook_allow_private=True)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    db = await open_pool(settings.database)
    yield db
    await db.close()


def channel(
    pool: Pool, settings: Settings, *, allow_private: bool, resolve: Resolver, timeout: float = 15.0
) -> WebhookChannel:
    return WebhookChannel(
        pool, secret_key=settings.secret_key, public_url=settings.public_url, allow_private=allow_private,
        disable_after_hours=72, resolve=resolve, timeout=timeout,
    )  # fmt: skip


def answers(*rounds: list[str]) -> Resolver:
    """A resolver giving ``rounds`` in turn (the last one from then on), whatever the name."""
    left = list(rounds)

    async def resolve(host: str, port: int) -> list[str]:
        return left.pop(0) if len(left) > 1 else left[0]

    return resolve


async def test_the_address_is_checked_again_when_sending(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, pool: Pool
) -> None:
    """Subscriptions accepted while private addresses were allowed (or whose name has since moved
    to one) are refused at the attempt, before any connection is made."""
    async with Receiver() as receiver:
        https = await subscribe(client, admin, clinic.organisation_id, receiver.url.replace("http:", "https:"))
        await subscribe(client, admin, clinic.organisation_id, receiver.url)
        await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
        strict = notify_settings(settings, webhook_allow_private=False)
        await Worker(pool, [webhook_channel(strict, pool)]).pass_once()
    assert receiver.connections == 0
    rows = await sql(settings, "SELECT webhook_id, status, attempts, last_status_code, last_error FROM deliveries")
    assert {(r["status"], r["attempts"], r["last_status_code"]) for r in rows} == {("pending", 1, None)}
    errors = {str(r["webhook_id"]) == https["id"]: r["last_error"] for r in rows}
    assert errors[True].startswith("URL refused") and "loopback" in errors[True]
    assert errors[False].startswith("URL refused") and "https" in errors[False]


async def test_the_connection_goes_to_the_address_that_was_checked(settings: Settings, pool: Pool) -> None:
    async with Receiver() as receiver:
        sender = channel(pool, settings, allow_private=True, resolve=answers(["127.0.0.1"]))
        outcome = await sender.post(f"http://hooks.example:{receiver.port}/hook", b"{}", {"x-test": "1"})
    assert outcome.delivered and outcome.status_code == 204
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.example:{receiver.port}", "the request still names the host"


async def test_a_name_that_moves_to_a_private_address_after_the_check_is_refused(
    settings: Settings, pool: Pool
) -> None:
    """DNS rebinding: the name was public when the subscription was made, loopback at the attempt."""
    resolve = answers([PUBLIC], ["127.0.0.1"])
    async with Receiver() as receiver:
        url = f"http://rebind.example:{receiver.port}/hook"
        assert await check_url(url.replace("http:", "https:"), allow_private=False, resolve=resolve)
        outcome = await channel(pool, settings, allow_private=False, resolve=resolve).post(url, b"{}", {})
    assert not outcome.delivered
    assert outcome.error is not None and "loopback" in outcome.error
    assert receiver.connections == 0


async def test_redirects_are_not_followed(settings: Settings, pool: Pool) -> None:
    async with Receiver() as elsewhere, Receiver(default=307) as redirecting:
        redirecting.extra_headers = f"Location: {elsewhere.url}\r\n"
        sender = channel(pool, settings, allow_private=True, resolve=answers(["127.0.0.1"]))
        outcome = await sender.post(redirecting.url, b"{}", {})
    assert (outcome.delivered, outcome.status_code) == (False, 307)
    assert outcome.error is not None and "redirects are not followed" in outcome.error
    assert len(redirecting.requests) == 1 and elsewhere.requests == []


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(settings: Settings, pool: Pool) -> None:
    async with Receiver(gate=asyncio.Event()) as silent:
        sender = channel(pool, settings, allow_private=True, resolve=answers(["127.0.0.1"]), timeout=0.3)
        outcome = await asyncio.wait_for(sender.post(silent.url, b"{}", {}), 10)
    assert not outcome.delivered and outcome.error == "no answer within 0.3 s"


async def test_a_refused_port_fails_the_attempt(settings: Settings, pool: Pool) -> None:
    async with Receiver() as gone:
        url = gone.url
    outcome = await channel(pool, settings, allow_private=True, resolve=answers(["127.0.0.1"])).post(url, b"{}", {})
    assert not outcome.delivered and outcome.status_code is None and outcome.error


def test_a_secret_opens_only_for_its_subscription_under_the_same_key(settings: Settings) -> None:
    secret, hook = new_secret(), uuid.uuid4()
    box = WebhookSecrets(settings.secret_key)
    sealed = box.seal(hook, secret)
    assert box.open(hook, sealed) == secret
    with pytest.raises(ValueError, match="cannot be decrypted"):
        box.open(uuid.uuid4(), sealed)  # another subscription's row
    with pytest.raises(ValueError, match="cannot be decrypted"):
        WebhookSecrets(settings.secret_key + "-changed").open(hook, sealed)
    assert new_secret() != secret
