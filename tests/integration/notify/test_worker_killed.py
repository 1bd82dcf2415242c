"""Nothing is lost when a process dies mid-delivery (issue 14): a ``gateway worker`` killed with
SIGKILL while its webhook request is in flight leaves the delivery to the next worker, which sends
it under the same ``webhook-id`` once the dead one's lease lapses."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book
from tests.integration.notify.webhook_support import Client, Receiver, admin_key, notify_settings, sql, subscribe
from tests.support import Clinic, patient, settings_env


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return notify_settings(settings, webhook_allow_private=True)


async def start_worker(settings: Settings, log: Path) -> asyncio.subprocess.Process:
    env = settings_env(settings) | {
        "GATEWAY_WEBHOOK_ALLOW_PRIVATE": "on",
        "GATEWAY_NOTIFY_POLL_SECONDS": "0.2",
        "GATEWAY_NOTIFY_LEASE_SECONDS": "3",
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "worker", env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_a_worker_killed_mid_delivery_leaves_it_to_the_next(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "workers.log"
    hold_first = asyncio.Event()
    async with Receiver(gate=hold_first) as receiver:  # the first request gets no answer
        keys = await admin_key(client, admin, clinic.organisation_id)
        await subscribe(client, keys, clinic.organisation_id, receiver.url)
        booked = await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))

        doomed = await start_worker(settings, log)
        try:
            await asyncio.wait_for(receiver.arrived.wait(), 30)
        finally:
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
        assert doomed.returncode == -signal.SIGKILL
        assert (await sql(settings, "SELECT status FROM deliveries"))[0][0] == "pending"

        receiver.gate = None  # from now on it answers at once
        successor = await start_worker(settings, log)
        try:
            for _ in range(300):
                found = await sql(settings, "SELECT status, attempts FROM deliveries")
                if found[0]["status"] != "pending":
                    break
                await asyncio.sleep(0.05)
        finally:
            successor.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(successor.wait(), 10) == 0
        hold_first.set()

    assert [tuple(r) for r in found] == [("delivered", 2)], log.read_text()
    message_id = (await sql(settings, "SELECT message_id FROM outbox WHERE appointment_id = $1", booked["id"]))[0][0]
    assert receiver.ids() == [f"msg_{message_id}"] * 2, "the second attempt is the same message"
