"""The hub's subscription on a Redis Cluster: sharded pub/sub, one connection per primary.

On a cluster the hold scripts publish a doctor's events with ``SPUBLISH`` (holds/scripts.py,
``sharded_script``): the doctor's channel ``P:ev:{doctor}`` carries the doctor's hash tag, so the
event stays on the primary that owns the doctor's slot instead of crossing the whole cluster bus.
A process receives it by ``SSUBSCRIBE`` on a connection to that primary; :class:`ShardedPubSub`
keeps one such connection per primary and presents them to the hub as one subscription with the
calls the hub makes on a plain :class:`redis.asyncio.client.PubSub` (``subscribe``,
``unsubscribe``, ``get_message``, ``ping``, ``aclose``), the messages renamed to the plain kinds
(``smessage`` is ``message``, ``ssubscribe`` is ``subscribe``).

Every connection also subscribes (plain ``SUBSCRIBE``) to the deployment's resync channel: a plain
``PUBLISH`` reaches every node of a cluster, and a connection with a subscription stays in pub/sub
mode when its last shard channel goes. Only the first connection's copy is handed on.

Losing any one connection is losing the subscription: :meth:`get_message` raises, and the hub
reconnects everything and has its clients catch up from the replay log, exactly as it does on
one Redis. The same holds when a primary tells us it no longer serves a channel (an unasked
``sunsubscribe``: its slot moved, a failover or resharding): the next connection reads the new
owners. No connection retries by itself (a silent resubscription would lose events unnoticed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

RENAMED = {"smessage": "message", "ssubscribe": "subscribe", "sunsubscribe": "unsubscribe"}
"""Sharded message kinds as the hub knows them from plain pub/sub."""


@dataclass
class _Shard:
    """One primary's connection and what it was told."""

    name: str
    redis: Redis
    pubsub: PubSub
    first: bool
    leaving: dict[str, int] = field(default_factory=dict)
    """``SUNSUBSCRIBE`` sent per channel whose confirmation has not arrived yet."""
    reader: asyncio.Task[None] | None = None


class ShardedPubSub:
    """One subscription over every primary of a cluster (see the module's notes).

    Args:
        topology: a cluster client kept across subscriptions, for its slot map only: once it has
            met the cluster it knows every node, so a new subscription starts even when the node
            ``REDIS_URL`` names is the one that failed.
        resync_channel: the deployment-wide channel every connection subscribes to.
        client_name: what each connection shows in ``CLIENT LIST``.
        idle_seconds: a connection that brought nothing for this long is pinged; one that stays
            silent three times as long is taken for dead.
    """

    def __init__(
        self, topology: RedisCluster, resync_channel: str, client_name: str, idle_seconds: float = 5.0
    ) -> None:
        self._cluster = topology
        self._resync_channel = resync_channel
        self._client_name = client_name
        self._idle = idle_seconds
        self._shards: dict[str, _Shard] = {}
        self._messages: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()

    async def connect(self) -> None:
        """Read the topology afresh and open one subscribed connection per primary."""
        await self._cluster.nodes_manager.initialize()
        for n, node in enumerate(self._cluster.get_primaries()):
            redis = Redis(
                host=node.host,
                port=int(node.port),
                decode_responses=True,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=2,
                socket_keepalive=True,
                client_name=self._client_name,
            )
            shard = _Shard(node.name, redis, redis.pubsub(), first=n == 0)
            self._shards[node.name] = shard
            await shard.pubsub.subscribe(self._resync_channel)
            shard.reader = asyncio.create_task(self._read(shard), name=f"broadcast-shard-{node.name}")

    def _shard(self, channel: str) -> _Shard:
        """The connection to the primary that owns the channel's slot."""
        node = self._cluster.nodes_manager.get_node_from_slot(self._cluster.keyslot(channel))
        shard = self._shards.get(node.name)
        if shard is None:  # a primary that appeared after connect(): the subscription must start over
            raise ConnectionError(f"no pub/sub connection to {node.name}, which now owns {channel}")
        return shard

    def _by_slot(self, channels: tuple[str, ...]) -> dict[tuple[str, int], list[str]]:
        """The channels by primary and slot: one ``SSUBSCRIBE`` names channels of one slot only."""
        grouped: dict[tuple[str, int], list[str]] = {}
        for channel in channels:
            grouped.setdefault((self._shard(channel).name, self._cluster.keyslot(channel)), []).append(channel)
        return grouped

    async def subscribe(self, *channels: str) -> None:
        """``SSUBSCRIBE`` each doctor channel on its primary (the resync channel is subscribed already).

        Every connection confirms the resync channel once, at :meth:`connect`; the hub waits for
        one confirmation per channel it asked for, so a confirmation of it is handed on here.
        """
        doctors = tuple(c for c in channels if c != self._resync_channel)
        if len(doctors) < len(channels):
            self._messages.put_nowait({"type": "subscribe", "channel": self._resync_channel, "data": 1})
        for (name, _), group in self._by_slot(doctors).items():
            await self._shards[name].pubsub.ssubscribe(*group)

    async def unsubscribe(self, *channels: str) -> None:
        for (name, _), group in self._by_slot(channels).items():
            shard = self._shards[name]
            for channel in group:
                shard.leaving[channel] = shard.leaving.get(channel, 0) + 1
            await shard.pubsub.sunsubscribe(*group)

    async def ping(self) -> None:
        """Ping every connection (each answer comes back as a ``pong`` message)."""
        for shard in self._shards.values():
            await shard.pubsub.ping()

    async def get_message(self, timeout: float | None = None) -> dict[str, Any] | None:  # noqa: ASYNC109  # PubSub's name
        """The next message of any connection, or ``None`` after ``timeout`` seconds.

        Raises:
            ConnectionError: a connection failed, or its primary dropped one of our channels.
        """
        try:
            async with asyncio.timeout(timeout):
                item = await self._messages.get()
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            self._messages.put_nowait(item)  # every later call fails the same way
            raise item
        return item

    async def _read(self, shard: _Shard) -> None:
        """Hand on one connection's messages; a failure or a silence is queued as an error."""
        last_heard = time.monotonic()
        pinged = False
        try:
            while True:
                message = await shard.pubsub.get_message(timeout=self._idle)
                now = time.monotonic()
                if message is None:
                    if now - last_heard > 3 * self._idle:
                        raise ConnectionError(f"{shard.name} did not answer a ping on the pub/sub connection")
                    if not pinged:
                        await shard.pubsub.ping()
                        pinged = True
                    continue
                last_heard, pinged = now, False
                kind = message["type"]
                if kind == "sunsubscribe":
                    channel = message["channel"]
                    pending = shard.leaving.get(channel, 0)
                    if not pending:
                        raise ConnectionError(f"{shard.name} no longer serves {channel} (its slot moved)")
                    if pending > 1:
                        shard.leaving[channel] = pending - 1
                    else:
                        del shard.leaving[channel]
                    continue
                if kind in ("message", "subscribe") and message["channel"] == self._resync_channel:
                    if not shard.first:
                        continue
                    if kind == "subscribe":
                        continue  # confirmed for the hub by subscribe()
                message["type"] = RENAMED.get(kind, kind)
                self._messages.put_nowait(message)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            self._messages.put_nowait(exc)

    async def aclose(self) -> None:
        """Close every connection (readers first)."""
        readers = [shard.reader for shard in self._shards.values() if shard.reader is not None]
        for reader in readers:
            reader.cancel()
        if readers:
            await asyncio.wait(readers, timeout=1)
        for shard in self._shards.values():
            with contextlib.suppress(RedisError, OSError):
                await shard.pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await shard.redis.aclose()
        self._shards.clear()


def topology_client(url: str) -> RedisCluster:
    """The cluster client a hub keeps for :class:`ShardedPubSub` (no retries of its own)."""
    return RedisCluster.from_url(url, decode_responses=True, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
