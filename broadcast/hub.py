"""The per-process fan-out: ONE Redis pub/sub subscription, every local client fed in memory.

The hold scripts PUBLISH each event themselves (in the same Lua call as the change), so the hub
only listens. It holds one ``PSUBSCRIBE`` on every doctor's channel under the deployment's prefix
rather than a ``SUBSCRIBE`` per doctor: a client is live the moment it is routed locally (no
round trip to Redis, nothing to reference-count), at the price of every process receiving every
doctor's events, which it drops cheaply (a string prefix check) when no local client follows
that doctor. Sharded pub/sub per doctor is the step after one Redis (design.md, "Scale").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from broadcast.events import Envelope
from broadcast.subscriber import OVERFLOW, SHUTDOWN, Item, Missed, Restarted, Subscriber
from holds.keys import Keys

logger = logging.getLogger("broadcast.hub")


class Hub:
    """Routes every slot event of this deployment to the local clients that follow its doctor.

    Args:
        redis_url: the Redis the hold scripts publish on.
        keys: channel names under the deployment's prefix.
        queue_size: items one client may have waiting before it is dropped.
        idle_seconds: after this long without a message the hub pings Redis; after three times
            as long without an answer it treats the connection as dead and reconnects.
        retry_seconds: first pause before reconnecting; it doubles up to ``retry_max_seconds``.
    """

    def __init__(
        self,
        redis_url: str,
        keys: Keys,
        *,
        queue_size: int = 256,
        idle_seconds: float = 5.0,
        retry_seconds: float = 0.05,
        retry_max_seconds: float = 2.0,
    ) -> None:
        self._url = redis_url
        self._pattern = keys.channel_pattern()
        # "P:ev:{doctor}": the doctor's id sits between the braces after this head
        self._head = keys.channel("").removesuffix("{}") + "{"
        self._queue_size = queue_size
        self._idle = idle_seconds
        self._retry = retry_seconds
        self._retry_max = retry_max_seconds
        self.client_name = f"{keys.prefix}:hub:{os.getpid()}"
        """The name the subscription shows in ``CLIENT LIST`` (operators, and tests that cut it)."""
        self._routes: dict[str, set[Subscriber]] = {}
        self._last_seq: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected = asyncio.Event()
        """Set while the subscription is live."""
        self.dropped = 0
        """Clients dropped because they fell too far behind."""
        self.reconnects = 0
        """Subscriptions made after the first (each one followed by a catch-up of every client)."""
        self.received = 0
        """Slot events received from Redis (any doctor's; for ``/metrics``)."""
        self.delivered = 0
        """Slot events handed to local clients, one per client (for ``/metrics``)."""
        self.on_resync: list[Callable[[str | None], None]] = []
        """Called with the doctor's id for every ``resync`` event of any doctor (followed here or
        not), and with ``None`` whenever the subscription (re)starts and events may have been
        missed: per-process caches of the schedule forget what an edit elsewhere changed."""

    # --- clients -------------------------------------------------------------------------------

    def subscriber(self, on_close: Callable[[str], None] | None = None) -> Subscriber:
        """A new inbox for one client; it follows no doctor yet."""
        return Subscriber(self, self._queue_size, on_close)

    def attach(self, subscriber: Subscriber, doctor_id: str) -> None:
        """Route ``doctor_id``'s events to ``subscriber`` (called by :meth:`Subscriber.follow`)."""
        self._routes.setdefault(doctor_id, set()).add(subscriber)

    def detach(self, subscriber: Subscriber, doctor_id: str) -> None:
        """Stop routing ``doctor_id``'s events to ``subscriber``."""
        followers = self._routes.get(doctor_id)
        if followers is None:
            return
        followers.discard(subscriber)
        if not followers:
            del self._routes[doctor_id]
            self._last_seq.pop(doctor_id, None)

    @property
    def clients(self) -> int:
        """Local clients following at least one doctor."""
        return len({s for followers in self._routes.values() for s in followers})

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, wait_seconds: float = 2.0) -> None:
        """Start listening; wait up to ``wait_seconds`` for the subscription to be live.

        A Redis that does not answer yet is not an error: the hub keeps trying, and clients
        that connect meanwhile catch up from the replay log once it is back.
        """
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="broadcast-hub")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                await self.connected.wait()

    async def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop listening and close every client's inbox (their streams then end).

        Returns within about ``grace_seconds`` even if a Redis call swallows the cancellation
        (redis-py may turn one that lands on a read timeout into a plain timeout), so a
        shutdown never hangs here.
        """
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=grace_seconds)
            if not done:
                logger.warning("the pub/sub listener did not stop within %.1fs; leaving it", grace_seconds)
            elif not task.cancelled() and task.exception() is not None:
                logger.warning("the pub/sub listener ended with %r", task.exception())
        for followers in list(self._routes.values()):
            for subscriber in list(followers):
                subscriber.close(SHUTDOWN)

    async def _run(self) -> None:
        delay = self._retry
        first = True
        while not self._stopping:
            redis = Redis.from_url(
                self._url,
                decode_responses=True,
                # No silent retries: redis-py would reconnect and resubscribe under us, and the
                # events published in between would be lost without anyone noticing.
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=2,
                socket_keepalive=True,
                client_name=self.client_name,
            )
            pubsub = redis.pubsub()
            try:
                await self._subscribe(pubsub)
                if not first:
                    self.reconnects += 1
                    logger.info("pub/sub subscription restored; clients catch up from the replay log")
                first = False
                delay = self._retry
                # Events may have been published while nobody listened (or, on the first
                # connection, while a client connected before the hub): everyone checks the log.
                self._last_seq.clear()
                self._resynced(None)
                self._broadcast(Missed())
                await self._listen(pubsub)
            except (RedisError, OSError) as exc:
                if self._stopping:
                    return  # the error is how redis-py reported our own cancellation
                logger.warning("pub/sub connection lost (%s); reconnecting in %.2fs", exc, delay)
            finally:
                self.connected.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(RedisError, OSError):
                    await redis.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _subscribe(self, pubsub: PubSub) -> None:
        await pubsub.psubscribe(self._pattern)
        # Live only once Redis confirms: events published before that are caught up from the log.
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(timeout=5)
                if message is not None and message["type"] == "psubscribe":
                    break
        self.connected.set()

    async def _listen(self, pubsub: PubSub) -> None:
        last_heard = time.monotonic()
        pinged = False
        while not self._stopping:
            message = await pubsub.get_message(timeout=self._idle)
            now = time.monotonic()
            if message is None:
                if now - last_heard > 3 * self._idle:
                    raise ConnectionError("Redis did not answer a ping on the pub/sub connection")
                if not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            if message["type"] == "pmessage":
                self.received += 1
                self._dispatch(message["channel"], message["data"])
                # redis-py hands out buffered messages without yielding to the loop; let the
                # clients' streams run between messages so a burst does not fill their queues.
                await asyncio.sleep(0)

    # --- fan-out -------------------------------------------------------------------------------

    def _dispatch(self, channel: str, data: str) -> None:
        if not (channel.startswith(self._head) and channel.endswith("}")):
            return
        doctor_id = channel[len(self._head) : -1]
        if '"resync"' in data:  # only a resync event carries that string (a cheap test, no decoding)
            self._resynced(doctor_id)
        followers = self._routes.get(doctor_id)
        if not followers:
            return  # nobody here follows this doctor: not even worth decoding
        try:
            envelope = Envelope.parse(data)
        except msgspec.DecodeError:
            logger.warning("ignored a malformed event on %s: %.200s", channel, data)
            return
        last = self._last_seq.get(doctor_id)
        self._last_seq[doctor_id] = envelope.seq
        if last is not None and envelope.seq <= last:
            # Pub/sub delivers one publisher's messages in order, so a sequence that goes back
            # means Redis lost the doctor's keys (flush, failover) and INCR started again.
            self._send(followers, Restarted(doctor_id))
        self.delivered += self._send(followers, envelope)

    def _resynced(self, doctor_id: str | None) -> None:
        for forget in self.on_resync:
            try:
                forget(doctor_id)
            except Exception:  # a cache's bug must not end the subscription
                logger.exception("a resync listener failed")

    def _broadcast(self, item: Item) -> None:
        everyone = {s for followers in self._routes.values() for s in followers}
        self._send(everyone, item)

    def _send(self, subscribers: set[Subscriber], item: Item) -> int:
        """Queue ``item`` for each subscriber, dropping those that fell too far behind.

        Returns:
            How many subscribers it was queued for.
        """
        queued = 0
        for subscriber in list(subscribers):
            if subscriber.push(item):
                queued += 1
                continue
            self.dropped += 1
            logger.warning("dropped a slow live client: %d events were waiting for it", self._queue_size)
            subscriber.close(OVERFLOW)
        return queued
