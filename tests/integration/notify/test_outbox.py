"""Invariant 9: every appointment change writes its outbox row in the transaction of the change,
and workers (any number, dying at any moment) deliver each message to each recipient once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, ClassVar

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.worker import Channel, Outcome, Worker
from gateway.settings import Settings
from store import appointments as repo
from store import outbox
from store.errors import Overlap
from store.outbox import Delivery, Message, Target
from store.pool import connect_one, open_pool
from tests.integration.appointments.lifecycle_support import PATIENT, book, insert_past
from tests.support import Clinic, notify_settings, patient
from tests.support import sql as rows

Client = AsyncTestClient[Litestar]


class Recorder(Channel):
    """A channel that tells a list instead of a person: one delivery per message, to "patient"."""

    name: ClassVar[str] = "email"

    def __init__(self, block: asyncio.Event | None = None) -> None:
        self.sent: list[tuple[uuid.UUID, str]] = []
        self.block = block

    async def targets(self, db: Any, message: Message) -> list[Target]:
        return [Target("email", "patient", f"{message.message_id}@example.org")]

    async def send(self, delivery: Delivery) -> Outcome:
        if self.block is not None:
            await self.block.wait()
        self.sent.append((delivery.message_id, delivery.event_type))
        return Outcome(True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This module's apps run no worker of their own: each test drives its workers itself."""
    return notify_settings(settings)


async def test_each_change_writes_one_outbox_row_with_the_appointment_as_it_was(
    client: Client, clinic: Clinic, settings: Settings, admin: dict[str, str]
) -> None:
    who = await patient(client, clinic)
    first = await book(client, clinic, clinic.at(3, 9), who)
    r = await client.post("/v1/holds", json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30,
                                            "start": clinic.at(3, 11)}, headers=who)  # fmt: skip
    held = r.json()
    r = await client.post(
        f"/v1/appointments/{first['id']}/reschedule",
        json={"hold_id": held["hold_id"]},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )
    assert r.status_code == 201, r.text
    moved = r.json()
    r = await client.post(f"/v1/appointments/{moved['id']}/cancel", json={"reason": "feeling better"}, headers=who)
    assert r.status_code == 200, r.text
    past = await insert_past(settings, clinic, timedelta(hours=3))
    assert (await client.post(f"/v1/appointments/{past}/no-show", json={}, headers=admin)).status_code == 200

    found = await rows(settings, "SELECT event_type, appointment_id, data FROM outbox ORDER BY id")
    assert [(r["event_type"], str(r["appointment_id"])) for r in found] == [
        ("appointment.booked", first["id"]),
        ("appointment.rescheduled", moved["id"]),  # the old one's move to "rescheduled" says nothing more
        ("appointment.cancelled", moved["id"]),
        ("appointment.no_show", past),
    ]
    booked, rescheduled, cancelled, _ = (r["data"] for r in found)
    assert booked["appointment"]["status"] == "confirmed"
    assert booked["appointment"]["patient"]["email"] == PATIENT["email"]
    assert rescheduled["appointment"]["previous_appointment_id"] == first["id"]
    assert cancelled["appointment"]["status"] == "cancelled"
    change = {"from": "confirmed", "to": "cancelled", "actor": "patient", "reason": "feeling better"}
    assert cancelled["change"] == change
    assert all("meeting_url" not in r["data"]["appointment"] for r in found)  # invariant 10


async def test_a_change_that_rolls_back_leaves_no_message(client: Client, clinic: Clinic, settings: Settings) -> None:
    who = await patient(client, clinic)
    taken = await book(client, clinic, clinic.at(3, 9), who)
    db = await open_pool(settings.database)
    try:
        template = await repo.get(db, uuid.UUID(taken["id"]))
        assert template is not None
        async with db.acquire() as conn:
            with pytest.raises(Overlap):
                async with conn.transaction():
                    await repo.insert(
                        conn,
                        repo.Actor("admin"),
                        repo.NewAppointment(
                            organisation_id=template.organisation_id,
                            doctor_id=template.doctor_id,
                            appointment_type_id=template.appointment_type_id,
                            patient_name="Second",
                            patient_email="second@example.org",
                            starts_at=template.starts_at,
                            ends_at=template.ends_at,
                            blocked_until=template.blocked_until,
                            status="confirmed",
                        ),
                    )
        # a transition that lost its race (the status changed meanwhile) writes nothing either
        stale = msgspec.structs.replace(template, status="pending_approval")
        async with db.acquire() as conn, conn.transaction():
            assert await repo.transition(conn, stale, "confirmed", repo.Actor("admin")) is None
    finally:
        await db.close()
    found = await rows(settings, "SELECT event_type FROM outbox")
    assert [r["event_type"] for r in found] == ["appointment.booked"]


async def _many_messages(settings: Settings, count: int) -> None:
    conn = await connect_one(settings.database)
    try:
        org = await conn.fetchval("INSERT INTO organisations (name, slug) VALUES ('O', $1) RETURNING id", "o-many")
        async with conn.transaction():
            for i in range(count):
                await outbox.enqueue(conn, org, "review.created", {"n": i})
    finally:
        await conn.close()


async def test_several_workers_deliver_each_message_once(settings: Settings) -> None:
    await _many_messages(settings, 120)
    db = await open_pool(settings.database)
    channels = [Recorder() for _ in range(3)]
    workers = [Worker(db, [c], batch=7) for c in channels]
    try:

        async def drain(worker: Worker) -> None:
            while await worker.expand() or await worker.deliver():
                pass

        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        await db.close()
    sent = [m for c in channels for m in c.sent]
    assert len(sent) == 120
    assert len(set(sent)) == 120
    assert sum(1 for c in channels if c.sent) >= 2, "the work was shared"
    found = await rows(settings, "SELECT status, attempts FROM deliveries")
    assert {(r["status"], r["attempts"]) for r in found} == {("delivered", 1)}
    assert (await rows(settings, "SELECT count(*) FROM outbox WHERE expanded_at IS NULL"))[0][0] == 0


async def test_a_worker_that_dies_mid_delivery_leaves_it_to_another(settings: Settings) -> None:
    await _many_messages(settings, 1)
    db = await open_pool(settings.database)
    stuck = Recorder(block=asyncio.Event())  # its send never finishes
    healthy = Recorder()
    dying = Worker(db, [stuck], lease_seconds=1.0)
    survivor = Worker(db, [healthy], lease_seconds=1.0)
    try:
        await dying.expand()
        attempt = asyncio.create_task(dying.deliver())
        for _ in range(100):
            leased = await rows(settings, "SELECT locked_until FROM deliveries WHERE locked_until IS NOT NULL")
            if leased:
                break
            await asyncio.sleep(0.02)
        assert leased, "the dying worker claimed the delivery"
        assert await survivor.deliver() == 0, "a leased delivery is nobody else's"
        attempt.cancel()  # the process is gone: nothing it had in hand is recorded
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await asyncio.sleep(1.1)  # the lease lapses
        assert await survivor.deliver() == 1
    finally:
        await db.close()
    assert len(healthy.sent) == 1 and stuck.sent == []
    found = await rows(settings, "SELECT status, attempts FROM deliveries")
    assert [(r["status"], r["attempts"]) for r in found] == [("delivered", 2)]


async def test_a_late_outcome_from_a_lapsed_lease_changes_nothing(settings: Settings) -> None:
    await _many_messages(settings, 1)
    db = await open_pool(settings.database)
    try:
        await Worker(db, [Recorder()]).expand()
        (first,) = await outbox.claim_due(db, 10, 0.1)
        await asyncio.sleep(0.2)
        (second,) = await outbox.claim_due(db, 10, 60)
        assert not await outbox.finish(db, first, "failed", error="late")
        assert await outbox.finish(db, second, "delivered")
    finally:
        await db.close()
    found = await rows(settings, "SELECT status, last_error FROM deliveries")
    assert [(r["status"], r["last_error"]) for r in found] == [("delivered", None)]


class Flaky(Recorder):
    schedule: ClassVar[tuple[float, ...]] = (0.01, 0.01)

    async def send(self, delivery: Delivery) -> Outcome:
        self.sent.append((delivery.message_id, delivery.event_type))
        return Outcome(False, status_code=451, error="try later")


async def test_failures_are_retried_on_the_schedule_then_given_up(settings: Settings) -> None:
    await _many_messages(settings, 1)
    db = await open_pool(settings.database)
    flaky = Flaky()
    worker = Worker(db, [flaky])
    try:
        await worker.expand()
        for _ in range(50):
            await worker.deliver()
            if len(flaky.sent) == 3:
                break
            await asyncio.sleep(0.02)
        assert await worker.deliver() == 0
    finally:
        await db.close()
    assert len(flaky.sent) == 3  # the first attempt and two retries
    found = await rows(settings, "SELECT status, attempts, last_status_code, last_error FROM deliveries")
    assert [tuple(r) for r in found] == [("failed", 3, 451, "try later")]


async def test_listen_wakes_the_worker_at_once(settings: Settings, client: Client, clinic: Clinic) -> None:
    db = await open_pool(settings.database)
    recorder = Recorder()
    # polling alone would take 60 s: only the notification of the committed change can be this quick
    worker = Worker(db, [recorder], listen=lambda: connect_one(settings.database), poll_seconds=60)
    worker.start()
    try:
        for _ in range(100):
            if worker.listener is not None:
                break
            await asyncio.sleep(0.02)
        assert worker.listener is not None
        await asyncio.sleep(0.2)  # its first pass found nothing and waits
        who = await patient(client, clinic)
        booked = await book(client, clinic, clinic.at(3, 9), who)
        for _ in range(250):
            if recorder.sent:
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
        await db.close()
    assert [event for _, event in recorder.sent] == ["appointment.booked"]
    found = await rows(settings, "SELECT appointment_id FROM outbox")
    assert [str(r[0]) for r in found] == [booked["id"]]


async def test_the_apps_worker_follows_the_setting(settings: Settings) -> None:
    from gateway.app import create_app

    for enabled in (True, False):
        app = create_app(
            msgspec.structs.replace(settings, notify=msgspec.structs.replace(settings.notify, worker=enabled))
        )
        async with AsyncTestClient(app=app):
            worker = app.state.services.worker
            assert (worker is not None and worker.task is not None) is enabled


async def test_gateway_worker_delivers_until_sigterm(settings: Settings, tmp_path: Any) -> None:
    """``gateway worker`` alone expands the outbox (no HTTP), and stops cleanly on SIGTERM."""
    import signal
    import subprocess
    import sys

    from tests.support import settings_env

    await _many_messages(settings, 3)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "worker",
            env=settings_env(settings) | {"GATEWAY_NOTIFY_POLL_SECONDS": "0.2"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):
                left = await rows(settings, "SELECT count(*) FROM outbox WHERE expanded_at IS NULL")
                if left[0][0] == 0:
                    break
                await asyncio.sleep(0.05)
            assert left[0][0] == 0, log.read_text()
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert "gateway worker: delivering through" in log.read_text()


async def test_a_reminder_whose_appointment_was_cancelled_after_its_claim_is_skipped(
    client: Client, clinic: Clinic, settings: Settings
) -> None:
    who = await patient(client, clinic)
    kept = await book(client, clinic, clinic.at(3, 9), who)
    dropped = await book(client, clinic, clinic.at(3, 11), who)
    db = await open_pool(settings.database)
    recorder = Recorder()
    try:
        async with db.acquire() as conn, conn.transaction():
            for booked in (kept, dropped):  # as the reminder claim writes them (gateway/notify/reminders.py)
                a = await repo.get(conn, uuid.UUID(booked["id"]))
                assert a is not None
                reminder = {"rule_id": str(uuid.uuid4()), "recipient": "patient", "minutes_before": 60,
                            "send_email": True, "send_sms": False}  # fmt: skip
                data = {"appointment": outbox.snapshot(a), "reminder": reminder}
                await outbox.enqueue(conn, a.organisation_id, "appointment.reminder", data, appointment_id=a.id)
        r = await client.post(f"/v1/appointments/{dropped['id']}/cancel", json={"reason": "away"}, headers=who)
        assert r.status_code == 200, r.text
        worker = Worker(db, [recorder])
        while await worker.expand() or await worker.deliver():
            pass
    finally:
        await db.close()
    found = await rows(
        settings,
        "SELECT o.appointment_id, d.status, d.last_error FROM deliveries d JOIN outbox o ON o.id = d.outbox_id"
        " WHERE o.event_type = 'appointment.reminder'",
    )
    status = {str(r["appointment_id"]): (r["status"], r["last_error"]) for r in found}
    assert status[kept["id"]] == ("delivered", None)
    assert status[dropped["id"]] == ("skipped", "the appointment was cancelled, moved or has begun")
    reminded = [event for _, event in recorder.sent if event == "appointment.reminder"]
    assert reminded == ["appointment.reminder"], "only the kept appointment's reminder went out"


class IdleWatched(Worker):
    """A worker that says when it has nothing to do and is about to wait to be woken."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle = asyncio.Event()

    async def _idle_wait(self) -> float:
        timeout = await super()._idle_wait()
        self.idle.set()  # the loop goes straight into its wait: no suspension in between
        return timeout


async def test_a_wake_up_arriving_with_the_stop_does_not_keep_the_worker_running(settings: Settings) -> None:
    """A NOTIFY that lands as shutdown begins (a change committed just before) must not cost the stop.

    Python 3.11's ``asyncio.wait_for`` returns normally when it is cancelled just as what it waits
    for completes: an idle wait written with it lost the cancellation, the loop went on, and the
    app's shutdown waited for the worker forever.
    """
    db = await open_pool(settings.database)
    worker = IdleWatched(db, [Recorder()], poll_seconds=60)
    worker.start()
    task = worker.task
    assert task is not None
    try:
        async with asyncio.timeout(10):
            await worker.idle.wait()
        worker.wake.set()  # the wake-up and the cancellation reach the idle wait in the same turn
        stopping = asyncio.create_task(worker.stop())
        # waited for without cancelling the stop (a cancelled stop would cancel the worker again)
        await asyncio.wait({stopping}, timeout=10)
        assert stopping.done(), "stop() did not return: the worker's loop went on after its cancellation"
        assert task.done()
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        await db.close()
