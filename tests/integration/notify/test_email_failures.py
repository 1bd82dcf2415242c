"""An SMTP server that refuses, defers, drops the connection mid-transaction, or is not there:
what each attempt comes to, and what the delivery records (status, attempts, code, error)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.email import EmailChannel
from gateway.notify.worker import Worker
from gateway.settings import Settings
from tests.integration.notify.messaging_support import (
    Inbox,
    confirm,
    deliveries,
    pool,
    settle,
    smtp_server,
    with_notify,
)
from tests.support import Clinic, free_port, patient

Client = AsyncTestClient[Litestar]
PATIENT = {"name": "Pat", "email": "pat@example.org"}


class QuickEmail(EmailChannel):
    """The real channel on a schedule of no waiting: the first attempt and two retries, then failed."""

    schedule: ClassVar[tuple[float, ...]] = (0.0, 0.0)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
def inbox(smtp: tuple[Inbox, str]) -> Inbox:
    return smtp[0]


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, str]) -> Settings:
    return with_notify(settings, smtp_url=smtp[1])


def _summary(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(d["status"], d["attempts"], d["last_status_code"]) for d in found]


async def _settled(client: Client, clinic: Clinic, settings: Settings) -> list[dict[str, Any]]:
    await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    async with pool(settings) as db:
        await settle(Worker(db, [QuickEmail.from_settings(settings, db)]), settings)
    return await deliveries(settings, "email")


async def test_a_recipient_refused_for_good_is_not_tried_again(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.rcpt_replies = ["550 5.1.1 No such user here"]
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("failed", 1, 550)]
    assert "No such user here" in found["last_error"]
    assert inbox.rcpt_attempts == 1
    assert inbox.mails == []


async def test_a_deferring_server_is_tried_on_the_schedule_then_the_delivery_fails(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.rcpt_replies = ["451 4.7.1 Greylisted, try again later"] * 10
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("failed", 3, 451)]  # the first attempt and the schedule's two retries
    assert "Greylisted" in found["last_error"]
    assert inbox.rcpt_attempts == 3
    assert inbox.mails == []


async def test_a_deferral_that_clears_is_delivered(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.rcpt_replies = ["451 4.7.1 Greylisted, try again later"]
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("delivered", 2, 250)]
    (mail,) = inbox.mails
    assert mail.recipients == [PATIENT["email"]]


async def test_content_refused_with_a_5xx_is_permanent(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.data_replies = ["554 5.6.0 Message refused"]
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("failed", 1, 554)]
    assert inbox.data_attempts == 1


async def test_a_connection_dropped_mid_transaction_is_retried_and_delivered_when_it_comes_back(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.data_replies = ["drop"]  # the message went out, its answer never came
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("delivered", 2, 250)]
    assert inbox.data_attempts == 2
    (mail,) = inbox.mails
    assert mail.message["Subject"].startswith("Booked")


async def test_a_connection_that_keeps_dropping_ends_failed(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    inbox.rcpt_replies = ["drop"] * 10
    (found,) = await _settled(client, clinic, settings)
    assert _summary([found]) == [("failed", 3, None)]
    assert "SMTPServerDisconnected" in found["last_error"]
    assert inbox.rcpt_attempts == 3
    assert inbox.mails == []


async def test_no_server_at_all_is_retried_then_failed(client: Client, clinic: Clinic, settings: Settings) -> None:
    nowhere = with_notify(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    async with pool(nowhere) as db:
        await settle(Worker(db, [QuickEmail.from_settings(nowhere, db)]), nowhere)
    (found,) = await deliveries(nowhere, "email")
    assert _summary([found]) == [("failed", 3, None)]
    assert "Connect" in found["last_error"]


def test_the_smtp_url_forms_and_a_bad_one_stops_the_worker_from_being_built(settings: Settings) -> None:
    from gateway.notify.assembly import build_worker
    from gateway.notify.email import SmtpServer

    assert SmtpServer.parse("smtp://relay.example") == SmtpServer("relay.example", 25, implicit_tls=False)
    assert SmtpServer.parse("smtps://u%40x:p%3Ass@relay.example:2465") == SmtpServer(
        "relay.example", 2465, implicit_tls=True, username="u@x", password="p:ss"
    )
    assert SmtpServer.parse("smtps://relay.example").port == 465
    for bad in ("http://relay.example", "smtp://", "relay.example:25"):
        with pytest.raises(ValueError, match="GATEWAY_SMTP_URL"):
            build_worker(with_notify(settings, smtp_url=bad), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GATEWAY_SMS_TOKEN"):
        build_worker(with_notify(settings, sms_url="https://sms.example/Messages.json", sms_token="no-colon"), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GATEWAY_SMS_URL"):
        build_worker(with_notify(settings, sms_url="ftp://sms.example"), None)  # type: ignore[arg-type]
