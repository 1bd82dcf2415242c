"""The per-process fan-out: ONE Redis pub/sub connection, every local client fed in memory.

The hold scripts PUBLISH each event themselves (in the same Lua call as the change), so the hub
only listens. On its one connection it subscribes (``SUBSCRIBE``) to the channel of each doctor
at least one local client follows, and to no other doctor's: a process no longer receives (nor
does Redis write to it) the events of doctors nobody here follows. A doctor's first local
follower has the hub's subscription task send ``SUBSCRIBE`` (attaching never waits for Redis);
the last one leaving has it send ``UNSUBSCRIBE``. What is published between attaching and
Redis's confirmation reaches nobody here, so the confirmation pushes :class:`Missed` for that
doctor and its followers catch up from the replay log (:mod:`broadcast.stream`). Plain channels,
no pattern, are also what sharded pub/sub (``SSUBSCRIBE``, design.md, "Redis Cluster") needs.

Each event is handed to every follower in one loop (:meth:`Stream.offer`): a caught-up client's
ASGI ``send`` is called right there with the event's shared message. One clock task per process
sends the keepalives of every quiet stream and, when the server starts to shut down, closes every
stream cleanly (so uvicorn's drain is not held up by open streams).

One more channel is always subscribed: the deployment-wide resync channel, on which
``holds/scripts/resync.lua`` repeats every ``resync`` event, so every process forgets its cached
schedule of any doctor (:attr:`Hub.on_resync`), followed here or not.

On a Redis Cluster (``cluster=True``) the one connection becomes one per primary, with sharded
pub/sub (``SSUBSCRIBE``) on the doctors' channels: :class:`broadcast.shards.ShardedPubSub` stands
in for the plain connection, and everything above holds as written (losing any of its
connections is losing the subscription).
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
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sse_starlette.sse import AppStatus

from broadcast.events import Envelope
from broadcast.replay import ReplayLog
from broadcast.shards import ShardedPubSub, topology_client
from broadcast.stream import OVERFLOW, SHUTDOWN, STUCK, Framing, Missed, Restarted, Send, Stream
from holds.keys import Keys

CLOCK_SECONDS = 0.25
"""How often the clock looks for a server shutdown (streams then end within about this long)."""


def shutting_down() -> bool:
    """Whether the uvicorn server of this process began a graceful shutdown.

    sse-starlette hooks uvicorn's signal handler and raises ``AppStatus.should_exit`` (its
    documented way for streams to learn of a shutdown); importing it is what installs the hook.
    """
    return bool(AppStatus.should_exit)


logger = logging.getLogger("broadcast.hub")


class Hub:
    """Routes the slot events of the doctors followed here to the local clients that follow them.

    Args:
        redis_url: the Redis the hold scripts publish on.
        keys: channel names under the deployment's prefix.
        queue_size: items one client may have waiting (behind an unfinished send, or while it
            catches up) before it is dropped.
        ping_seconds: a stream that sent nothing for this long gets a keepalive.
        send_timeout_seconds: a send that does not finish within this long drops its client.
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
        ping_seconds: float = 15.0,
        send_timeout_seconds: float = 30.0,
        idle_seconds: float = 5.0,
        retry_seconds: float = 0.05,
        retry_max_seconds: float = 2.0,
        cluster: bool = False,
    ) -> None:
        self._url = redis_url
        self._cluster = cluster
        self._keys = keys
        self._resync_channel = keys.resync_channel()
        # "P:ev:{doctor}": the doctor's id sits between the braces after this head
        self._head = keys.channel("").removesuffix("{}") + "{"
        self._queue_size = queue_size
        self._ping = ping_seconds
        self._send_timeout = send_timeout_seconds
        self._idle = idle_seconds
        self._retry = retry_seconds
        self._retry_max = retry_max_seconds
        self.client_name = f"{keys.prefix}:hub:{os.getpid()}"
        """The name the subscription shows in ``CLIENT LIST`` (operators, and tests that cut it)."""
        self._routes: dict[str, dict[Stream, None]] = {}
        """The local followers of each doctor (an ordered set: the fan-out order is the follow order)."""
        self._streams: dict[Stream, None] = {}
        """Every open local stream (for keepalives and shutdown), following doctors or not yet."""
        self._last_seq: dict[str, int] = {}
        self._subscribed: set[str] = set()
        """Doctors whose channel the current connection was last told to SUBSCRIBE (not UNSUBSCRIBE)."""
        self._confirming: dict[str, int] = {}
        """SUBSCRIBE commands per doctor whose confirmation has not arrived yet."""
        self._changed = asyncio.Event()
        """Set when a doctor got its first local follower or lost its last one."""
        self._task: asyncio.Task[None] | None = None
        self._clock: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected = asyncio.Event()
        """Set while the subscription is live."""
        self.dropped = 0
        """Clients dropped because they fell too far behind or their socket accepted nothing."""
        self.reconnects = 0
        """Subscriptions made after the first (each one followed by a catch-up of every client)."""
        self.received = 0
        """Slot events received from Redis on doctors' channels (those followed here; for ``/metrics``)."""
        self.delivered = 0
        """Slot events handed to local clients, one per client (for ``/metrics``)."""
        self.on_resync: list[Callable[[str | None], None]] = []
        """Called with the doctor's id for every ``resync`` event of any doctor (followed here or
        not: they come on the deployment's resync channel), and with ``None`` whenever the
        subscription (re)starts and events may have been missed: per-process caches of the
        schedule forget what an edit elsewhere changed."""

    # --- clients -------------------------------------------------------------------------------

    def stream(
        self, send: Send, framing: Framing, replay: ReplayLog, on_end: Callable[[], None] | None = None
    ) -> Stream:
        """A new live stream for one client (it follows no doctor yet).

        Args:
            send: the client's ASGI ``send``.
            framing: how events become messages for this kind of stream.
            replay: reads the replay log when the client resumes or catches up.
            on_end: ends the connection when the stream's closing message cannot go out.
        """
        stream = Stream(
            self,
            send,
            framing,
            replay,
            limit=self._queue_size,
            send_timeout=self._send_timeout,
            on_end=on_end,
        )
        self._streams[stream] = None
        if self._stopping or shutting_down():
            stream.close(SHUTDOWN)
        return stream

    def forget(self, stream: Stream) -> None:
        """A stream closed (called by :meth:`Stream.close`)."""
        self._streams.pop(stream, None)
        if stream.closed in (OVERFLOW, STUCK):
            self.dropped += 1

    def attach(self, stream: Stream, doctor_id: str) -> None:
        """Route ``doctor_id``'s events to ``stream`` (called by :meth:`Stream.follow`).

        The doctor's first local follower has the hub subscribe to the doctor's channel; once Redis
        confirms, the followers get :class:`Missed` for what was published in between.
        """
        followers = self._routes.get(doctor_id)
        if followers is None:
            followers = self._routes[doctor_id] = {}
            self._changed.set()
        followers[stream] = None

    def detach(self, stream: Stream, doctor_id: str) -> None:
        """Stop routing ``doctor_id``'s events to ``stream``."""
        followers = self._routes.get(doctor_id)
        if followers is None:
            return
        followers.pop(stream, None)
        if not followers:
            del self._routes[doctor_id]
            self._last_seq.pop(doctor_id, None)
            self._changed.set()  # the hub unsubscribes, unless someone follows again meanwhile

    def listening(self, doctor_id: str) -> bool:
        """Whether Redis confirmed the subscription to the doctor's channel (events reach here live)."""
        return self.connected.is_set() and doctor_id in self._subscribed and not self._confirming.get(doctor_id)

    @property
    def clients(self) -> int:
        """Local clients following at least one doctor."""
        return len({s for followers in self._routes.values() for s in followers})

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the hub runs in (streams must be made and fed in it)."""
        if self._task is None:
            raise RuntimeError("the hub is not running")
        return self._task.get_loop()

    @property
    def streams(self) -> int:
        """Open local streams, following a doctor or not yet."""
        return len(self._streams)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, wait_seconds: float = 2.0) -> None:
        """Start listening; wait up to ``wait_seconds`` for the subscription to be live.

        A Redis that does not answer yet is not an error: the hub keeps trying, and clients
        that connect meanwhile catch up from the replay log once it is back.
        """
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="broadcast-hub")
            self._clock = asyncio.create_task(self._tick(), name="broadcast-clock")
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
        clock, self._clock = self._clock, None
        if clock is not None:
            clock.cancel()
        if task is not None:
            self._stopping = True
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=grace_seconds)
            if not done:
                logger.warning("the pub/sub listener did not stop within %.1fs; leaving it", grace_seconds)
            elif not task.cancelled() and task.exception() is not None:
                logger.warning("the pub/sub listener ended with %r", task.exception())
        self.close_all(SHUTDOWN)

    def close_all(self, reason: str) -> None:
        """Close every local stream (each sends its closing message: SSE ends its body)."""
        for stream in list(self._streams):
            stream.close(reason)

    async def _tick(self) -> None:
        """The process's one clock: keepalives for quiet streams, and the shutdown watch.

        One timer for every stream, instead of a timer per stream armed and cancelled around
        every event; a stream that sent anything during the interval needs no keepalive.
        """
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._ping
        while True:
            await asyncio.sleep(max(0.0, min(CLOCK_SECONDS, next_ping - loop.time())))
            if shutting_down():
                # uvicorn waits for open responses before it finishes: end every stream now, so
                # clients reconnect elsewhere and resume by their last id
                self.close_all(SHUTDOWN)
            if loop.time() >= next_ping:
                next_ping = loop.time() + self._ping
                for stream in list(self._streams):
                    stream.keepalive()

    async def _run(self) -> None:
        topology = topology_client(self._url) if self._cluster else None
        try:
            await self._subscriptions(topology)
        finally:
            if topology is not None:
                with contextlib.suppress(RedisError, OSError):
                    await topology.aclose()

    async def _subscriptions(self, topology: RedisCluster | None) -> None:
        """Subscribe, listen, and subscribe again after every loss until the hub stops."""
        delay = self._retry
        first = True
        while not self._stopping:
            redis: Redis | None = None
            pubsub: PubSub | ShardedPubSub
            if topology is not None:
                pubsub = ShardedPubSub(topology, self._resync_channel, self.client_name, self._idle)
            else:
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
            syncing: asyncio.Task[None] | None = None
            try:
                if isinstance(pubsub, ShardedPubSub):
                    await pubsub.connect()
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
                syncing = asyncio.create_task(self._sync(pubsub), name="broadcast-hub-subscriptions")
                await self._listen(pubsub, syncing)
            except (RedisError, OSError) as exc:
                if self._stopping:
                    return  # the error is how redis-py reported our own cancellation
                logger.warning("pub/sub connection lost (%s); reconnecting in %.2fs", exc, delay)
            finally:
                self.connected.clear()
                if syncing is not None:
                    syncing.cancel()
                    await asyncio.wait({syncing}, timeout=1)
                    if syncing.done() and not syncing.cancelled():
                        syncing.exception()  # reported by _listen, or moot once the connection is gone
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                if redis is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await redis.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _subscribe(self, pubsub: PubSub | ShardedPubSub) -> None:
        """Subscribe a fresh connection to the resync channel and every doctor followed here."""
        doctors = list(self._routes)
        self._subscribed = set(doctors)
        self._confirming.clear()
        self._changed.clear()  # _sync starts from what is subscribed here
        channels = [self._resync_channel, *(self._keys.channel(d) for d in doctors)]
        await pubsub.subscribe(*channels)
        # Live only once Redis confirms: events published before that are caught up from the log.
        # One SUBSCRIBE's confirmations come back together, before any message on its channels.
        waiting = set(channels)
        async with asyncio.timeout(5):
            while waiting:
                message = await pubsub.get_message(timeout=5)
                if message is not None and message["type"] == "subscribe":
                    waiting.discard(message["channel"])
        self.connected.set()

    async def _sync(self, pubsub: PubSub | ShardedPubSub) -> None:
        """Keep the connection's doctor channels in step with the doctors followed here.

        Runs beside :meth:`_listen` on the same connection (commands are written while the
        listener waits to read; their confirmations arrive through the listener). Attaches and
        detaches of one loop turn go out as one ``UNSUBSCRIBE`` and one ``SUBSCRIBE``; a doctor
        left and followed again before this ran needs no command at all.
        """
        while True:
            await self._changed.wait()
            self._changed.clear()
            gone = [d for d in self._subscribed if d not in self._routes]
            new = [d for d in self._routes if d not in self._subscribed]
            if gone:
                self._subscribed.difference_update(gone)
                await pubsub.unsubscribe(*(self._keys.channel(d) for d in gone))
            if new:
                self._subscribed.update(new)
                for doctor_id in new:
                    self._confirming[doctor_id] = self._confirming.get(doctor_id, 0) + 1
                await pubsub.subscribe(*(self._keys.channel(d) for d in new))

    async def _listen(self, pubsub: PubSub | ShardedPubSub, syncing: asyncio.Task[None]) -> None:
        last_heard = time.monotonic()
        pinged = False
        while not self._stopping:
            message = await pubsub.get_message(timeout=self._idle)
            if syncing.done():
                syncing.result()  # a failed (UN)SUBSCRIBE: the connection is gone, reconnect
                raise ConnectionError("the pub/sub subscription task ended")
            now = time.monotonic()
            if message is None:
                if now - last_heard > 3 * self._idle:
                    raise ConnectionError("Redis did not answer a ping on the pub/sub connection")
                if not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            kind = message["type"]
            if kind == "message":
                channel, data = message["channel"], message["data"]
                if channel == self._resync_channel:
                    self._resync_message(data)
                    continue
                self.received += 1
                self._dispatch(channel, data)
                # redis-py hands out buffered messages without yielding to the loop; let the
                # clients' streams run between messages so a burst does not fill their queues.
                await asyncio.sleep(0)
            elif kind == "subscribe":
                self._confirmed(message["channel"])

    def _doctor(self, channel: str) -> str | None:
        if not (channel.startswith(self._head) and channel.endswith("}")):
            return None
        return channel[len(self._head) : -1]

    def _confirmed(self, channel: str) -> None:
        """Redis confirmed a SUBSCRIBE: from here on the doctor's events arrive live."""
        doctor_id = self._doctor(channel)
        if doctor_id is None:
            return
        pending = self._confirming.get(doctor_id, 0) - 1
        if pending > 0:
            self._confirming[doctor_id] = pending
        else:
            self._confirming.pop(doctor_id, None)
        followers = self._routes.get(doctor_id)
        if followers:
            # what was published between attach and now reached nobody here: check the log
            self._send(followers, Missed(doctor_id))

    def _resync_message(self, data: str) -> None:
        try:
            doctor_id = Envelope.parse(data).doctor_id
        except msgspec.DecodeError:
            logger.warning("ignored a malformed event on %s: %.200s", self._resync_channel, data)
            return
        self._resynced(doctor_id)

    # --- fan-out -------------------------------------------------------------------------------

    def _dispatch(self, channel: str, data: str) -> None:
        doctor_id = self._doctor(channel)
        if doctor_id is None:
            return
        if '"resync"' in data:  # only a resync event carries that string (a cheap test, no decoding)
            # Forget the cached schedule before the local clients see the event and refetch; the
            # copy on the resync channel comes right after and forgets it again (harmless).
            self._resynced(doctor_id)
        followers = self._routes.get(doctor_id)
        if not followers:
            return  # the last follower left; the UNSUBSCRIBE is on its way
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

    def _broadcast(self, item: Missed) -> None:
        everyone = {s: None for followers in self._routes.values() for s in followers}
        self._send(everyone, item)

    def _send(self, streams: dict[Stream, None], item: Envelope | Missed | Restarted) -> int:
        """Hand ``item`` to each stream: a caught-up one sends an event at once, others queue it.

        A stream that fell too far behind closes itself; one that closes (or unfollows) while
        this loop runs is skipped, so the loop walks a copy.

        Returns:
            How many streams took it.
        """
        taken = 0
        if isinstance(item, Envelope):
            for stream in list(streams):
                taken += stream.offer(item)
        else:
            for stream in list(streams):
                taken += stream.notify(item)
        return taken
