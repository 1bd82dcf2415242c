"""The delivery worker: outbox rows become deliveries, due deliveries are sent, due reminders claimed.

Any number of workers (one per ``gateway serve`` process, or ``gateway worker``) share the work
through Postgres alone: rows are expanded under ``FOR UPDATE SKIP LOCKED`` and each delivery is
sent under a lease (``store/outbox.py``), so one message reaches each recipient once, and a worker
killed mid-delivery only delays it until its lease lapses. ``LISTEN`` wakes the workers when a
change commits; they poll too, since a notification sent while nobody listens is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import asyncpg

from store import outbox, reminders
from store.outbox import Delivery, Message, Target
from store.types import Conn, Pool

logger = logging.getLogger("gateway.notify")


@dataclass(frozen=True)
class Outcome:
    """What one attempt of one delivery came to."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    """No later attempt can succeed (an address the server refuses for good): stop retrying."""
    skipped: bool = False
    """Nothing was sent, on purpose: the message no longer applies (ends ``skipped``)."""


class Channel:
    """One way of telling: email, SMS, webhooks. Subclasses say to whom, and how.

    ``gave_up`` is the final status of a delivery no attempt delivered: ``failed``, or ``dead``
    for webhooks (the Standard Webhooks word for a message that exhausted its retries).
    """

    name: ClassVar[str]
    gave_up: ClassVar[str] = "failed"
    schedule: ClassVar[Sequence[float]] = (30.0, 300.0, 1800.0)
    """Seconds before each retry after a failed attempt; when they run out, the delivery gives up."""

    async def targets(self, db: Conn, message: Message) -> list[Target]:
        """The deliveries this channel makes of ``message`` (called inside the expanding transaction)."""
        raise NotImplementedError

    async def send(self, delivery: Delivery) -> Outcome:
        """Make one attempt. Exceptions count as a failed attempt (logged)."""
        raise NotImplementedError

    async def settled(self, db: Conn, delivery: Delivery, outcome: Outcome, final_status: str) -> None:
        """After an attempt's outcome is recorded (``final_status``: the delivery's status now)."""

    def retry_in(self, attempts: int) -> float | None:
        """Seconds until the next attempt after ``attempts`` failed ones (``None``: give up), jittered
        by up to a fifth either way so that retries of many deliveries do not arrive together."""
        if attempts > len(self.schedule):
            return None
        base = self.schedule[attempts - 1]
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


Periodic = Callable[[Pool], Awaitable[int]]
"""A job the worker runs every ``tick_seconds`` (due reminders): returns how many rows it made."""


class Worker:
    """Expands the outbox and sends deliveries until ``stop``."""

    def __init__(
        self,
        db: Pool,
        channels: Sequence[Channel],
        *,
        listen: Callable[[], Awaitable[asyncpg.Connection[Any]]] | None = None,
        periodic: Sequence[Periodic] = (),
        poll_seconds: float = 5.0,
        tick_seconds: float = 60.0,
        lease_seconds: float = 120.0,
        batch: int = 20,
        concurrency: int = 10,
    ) -> None:
        self.db = db
        self.channels = {c.name: c for c in channels}
        self.listen = listen
        self.periodic = list(periodic)
        self.poll_seconds = poll_seconds
        self.tick_seconds = tick_seconds
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.sending = asyncio.Semaphore(concurrency)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.stopping = False
        self.listener: asyncpg.Connection[Any] | None = None
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        if self.task is None:
            self.stopping = False
            self.task = asyncio.create_task(self._run(), name="notify-worker")

    async def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop, cutting the attempts under way (their leases lapse and another pass retries them).

        Returns within about ``grace_seconds`` even if a call swallows the cancellation: the stop
        flag ends the loop at its next turn, and the wait is bounded, so a shutdown never hangs here.
        """
        task, self.task = self.task, None
        if task is not None:
            self.stopping = True
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=grace_seconds)
            if not done:
                logger.warning("notify worker: did not stop within %.1f s; leaving it", grace_seconds)
            elif not task.cancelled() and task.exception() is not None:
                logger.warning("notify worker: ended with %r", task.exception())
        await self._unlisten()

    async def _run(self) -> None:
        last_tick = -self.tick_seconds  # the first pass claims what fell due while nobody ran
        loop = asyncio.get_running_loop()
        failures = 0
        while not self.stopping:
            try:
                await self._listen()
                if loop.time() - last_tick >= self.tick_seconds:
                    last_tick = loop.time()
                    for job in self.periodic:
                        await job(self.db)
                busy = await self.pass_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                logger.warning("notify worker: Postgres is not answering (%s); again in %.1f s", exc, delay)
                await self._unlisten()
                await asyncio.sleep(delay)
                continue
            if busy:
                continue  # more may be waiting: no sleep between full batches
            self.wake.clear()
            timeout = await self._idle_wait()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns normally when it is
            # cancelled just as the wake-up comes (a NOTIFY landing during shutdown), and the
            # cancellation is lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()

    async def _idle_wait(self) -> float:
        due = await outbox.next_due(self.db)
        if due is None:
            return self.poll_seconds
        return max(0.05, min(self.poll_seconds, (due - datetime.now(UTC)).total_seconds()))

    async def pass_once(self) -> bool:
        """Expand what is new, then send what is due. Returns whether a batch came back full."""
        expanded = await self.expand()
        sent = await self.deliver()
        return expanded >= self.batch or sent >= self.batch

    async def expand(self) -> int:
        """Turn up to one batch of outbox rows into deliveries, in one transaction."""
        async with self.db.acquire() as conn, conn.transaction():
            messages = await outbox.claim_unexpanded(conn, self.batch)
            for message in messages:
                for channel in self.channels.values():
                    await outbox.add_deliveries(conn, message, await channel.targets(conn, message))
            if messages:
                await outbox.mark_expanded(conn, [m.id for m in messages])
        return len(messages)

    async def deliver(self) -> int:
        """Claim up to one batch of due deliveries and make one attempt of each."""
        deliveries = await outbox.claim_due(self.db, self.batch, self.lease_seconds)
        if deliveries:
            await asyncio.gather(*(self._attempt(d) for d in deliveries))
        return len(deliveries)

    async def _attempt(self, delivery: Delivery) -> None:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            # a process without this channel configured: leave it to one that has it (the lease lapses)
            return
        async with self.sending:
            try:
                outcome = await self._still_applies(delivery) or await channel.send(delivery)
            except Exception as exc:  # one broken delivery must not stop the others
                logger.exception("notify: %s delivery %s failed", delivery.channel, delivery.id)
                outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
        if outcome.delivered:
            status, retry_in = "delivered", None
            self.sent += 1
            detail = ""
        elif outcome.skipped:
            status, retry_in = "skipped", None
            detail = f": {outcome.error}"
        else:
            retry_in = None if outcome.permanent else channel.retry_in(delivery.attempts)
            status = "pending" if retry_in is not None else channel.gave_up
            self.failed += 1
            again = f"; again in {retry_in:.0f} s" if retry_in is not None else f"; {status}"
            detail = f": attempt {delivery.attempts} failed ({outcome.error or outcome.status_code}){again}"
        # one line per attempt; the recipient (an address, a number, a URL that may carry a token)
        # stays out of the log: the delivery's id finds it in the deliveries log
        logger.info(
            "notify: %s %s delivery %s %s%s", delivery.channel, delivery.event_type, delivery.id, status, detail,
            extra={"action": "notify.delivery", "status": outcome.status_code},
        )  # fmt: skip
        async with self.db.acquire() as conn, conn.transaction():
            mine = await outbox.finish(
                conn, delivery, status, status_code=outcome.status_code, error=outcome.error, retry_in=retry_in
            )
            if mine:
                await channel.settled(conn, delivery, outcome, status)

    async def _still_applies(self, delivery: Delivery) -> Outcome | None:
        """``None`` when the delivery should be attempted; else why not (a skip).

        A reminder is claimed when it falls due, but its appointment may be cancelled or moved
        between the claim and an attempt (or a retry hours later): it is then never sent.
        """
        if delivery.event_type != "appointment.reminder" or delivery.appointment_id is None:
            return None
        start = datetime.fromisoformat(delivery.data["appointment"]["start"])
        if await reminders.reminder_still_due(self.db, delivery.appointment_id, start):
            return None
        return Outcome(False, error="the appointment was cancelled, moved or has begun", skipped=True)

    async def _listen(self) -> None:
        if self.listen is None or self.listener is not None:
            return
        conn = await self.listen()
        try:
            await conn.add_listener(outbox.CHANNEL, self._notified)
            conn.add_termination_listener(self._lost)
        except BaseException:
            # stopped (or Postgres went away) right after connecting: no connection left behind
            conn.terminate()
            raise
        self.listener = conn

    def _notified(self, *_: object) -> None:
        self.wake.set()

    def _lost(self, *_: object) -> None:
        self.listener = None  # listen again on the next pass; polling covers the gap
        self.wake.set()

    async def _unlisten(self) -> None:
        conn, self.listener = self.listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
