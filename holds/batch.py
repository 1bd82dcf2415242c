"""Send the Redis commands that many requests issue at about the same moment in one pipeline.

Under load a gateway process has dozens of holds in flight. Sent one pipeline each, every hold
pays redis-py's whole per-call path (a pooled connection, retry wrapper, timeout, pipeline set-up
and reset), which the profile showed as about a fifth of a hold's CPU. A :class:`Batcher` queues
the commands callers hand it during one turn of the event loop and sends them together at the end
of that turn: one connection, one write, one read of all the answers. A lone request waits no
longer than before (the flush runs in the same turn), and Redis runs each caller's commands in
order, one after another, exactly as separate pipelines would.

On a Redis Cluster (a :class:`~redis.asyncio.cluster.RedisCluster` client) the batch is cut by
node: each command goes to the primary that owns its first key's slot (every script's keys share
one slot), one pipeline per node, all nodes at once. A caller's commands keep their order on each
node; commands of one caller on different nodes (a hold's script and its deadline index entry)
are independent. A ``MOVED`` answer (a slot changed hands: failover, resharding) means the
command did not run: the topology is read again and the command sent once more to its new owner.
A node that cannot be reached fails the callers with a command on it, and only them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, TypeAlias, TypeVar

import hiredis
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import AskError, NoScriptError, ResponseError

from holds.scripts import Call, Script

R = TypeVar("R")

AnyRedis: TypeAlias = Redis | RedisCluster
"""One Redis (the default) or a Redis Cluster (``GATEWAY_REDIS_CLUSTER=on``)."""

MOVED_ATTEMPTS = 3
"""Sends of one command that a slot's old owner redirected (``MOVED``/``ASK``) before its caller
gets the redirection as its answer."""
TOPOLOGY_REFRESH_SECONDS = 0.2
"""Least time between two topology reads caused by redirections or failed nodes: a failover
fails every batch for a moment, and one read per moment is enough."""


class NodeFailure:
    """In a cluster batch, the reply of a command whose node could not be reached or answered
    (the connection failed): its caller gets ``error`` raised, whatever its other replies."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


Command = Sequence[Any]
"""``(name, *args)``, or ``(script, numkeys, *keys, *args)`` with a :class:`~holds.scripts.Script`: sent as a
plain ``EVALSHA`` and, when Redis answers ``NOSCRIPT`` (it restarted or flushed its scripts),
loaded and sent once more, so no caller handles that case."""


class Batcher:
    """Auto-pipelining for one Redis client.

    Args:
        redis: the client whose pool the pipelines use (a cluster client: its nodes' pools).
        max_batch: most commands one pipeline carries (a longer queue is sent as several).
    """

    def __init__(self, redis: AnyRedis, max_batch: int = 512) -> None:
        self.redis = redis
        self.max_batch = max_batch
        self.cluster = redis if isinstance(redis, RedisCluster) else None
        """The cluster client when the batches are cut by node (``None``: one Redis)."""
        self._refreshed_at = 0.0
        self._refreshing: asyncio.Lock | None = None
        self._queue: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]] = []
        self._queued = 0
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def execute(self, *commands: Command) -> list[Any]:
        """Run ``commands`` (each ``(name, *args)``) back to back; their replies, in order.

        A command Redis refuses comes back as its exception (``raise_on_error=False``), so the
        caller decides. A failure of the connection itself is raised to every caller of that batch
        (on a cluster: to every caller with a command on that node).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._queue.append((commands, future))
        self._queued += len(commands)
        if self._queued >= self.max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def run(self, call: Call[R], *also: Command) -> R:
        """One script call (with ``also``, plain commands sent right after it in the same batch, whose
        replies are not wanted); its typed result."""
        replies = await self.execute(call.command(), *also)
        return call.result(replies[0])

    async def run_all(self, calls: Sequence[Call[R]]) -> list[R]:
        """Several script calls back to back, in one round trip; their results, in order."""
        replies = await self.execute(*(call.command() for call in calls))
        return [call.result(reply) for call, reply in zip(calls, replies, strict=True)]

    def _flush(self) -> None:
        self._scheduled = False
        if not self._queue:
            return
        batch, self._queue, self._queued = self._queue, [], 0
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]]) -> None:
        try:
            flat = [command for commands, _ in batch for command in commands]
            replies = await self._pipeline(flat)
            # Scripts Redis forgot: load each once, send those commands again (rare: after a restart)
            forgotten = [
                n for n, reply in enumerate(replies) if _is_script(flat[n]) and isinstance(reply, NoScriptError)
            ]
            if forgotten:
                for script in {id(flat[n][0]): flat[n][0] for n in forgotten}.values():
                    await self._load(script)
                for n, reply in zip(forgotten, await self._pipeline([flat[n] for n in forgotten]), strict=True):
                    replies[n] = reply
        except BaseException as exc:  # every waiting caller gets the failure
            failure = exc if isinstance(exc, Exception) else ConnectionError("the Redis batch was cancelled")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        at = 0
        for commands, future in batch:
            if not future.done():  # its caller may have been cancelled meanwhile
                mine = replies[at : at + len(commands)]
                failed = None if self.cluster is None else _node_failure(mine)
                if failed is None:
                    future.set_result(mine)
                else:
                    future.set_exception(failed.error)
            at += len(commands)

    async def _load(self, script: Script[Any, Any]) -> None:
        """Load a script Redis forgot (on a cluster: its sharded variant, on every primary)."""
        if self.cluster is None:
            script.sha = await self.redis.script_load(script.script)
        else:
            script.sharded_sha = await self.cluster.script_load(script.sharded_script)

    async def _pipeline(self, commands: list[Command]) -> list[Any]:
        """Send ``commands`` on one pooled connection in one write; read every reply.

        Not redis-py's ``Pipeline``: its per-call path (the pipeline object, the retry wrapper,
        the HIMPORT bookkeeping, packing each argument through the Python encoder) was 13% of a
        worker's CPU under the hold benchmark, and a hold's script call with its index entry cost
        49-64 µs of CPU through it against 26-30 µs this way (32 tasks in one process, five
        interleaved rounds each). Here the commands are packed in C by hiredis and
        the replies read with the client's own parser and response callbacks, exactly as the
        pipeline does, minus what a batch of plain commands does not need. A connection that fails
        mid-batch is dropped (its unread replies must never reach the next borrower) and the
        failure goes to every caller of the batch; nothing is sent twice (a retried script could
        take a hold twice).
        """
        if self.cluster is not None:
            return await self._cluster_pipeline(self.cluster, commands)
        assert isinstance(self.redis, Redis)
        packed = b"".join(hiredis.pack_command(_wire(command)) for command in commands)
        pool = self.redis.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]  # untyped in redis-py
        try:
            await connection.send_packed_command(packed)
            replies: list[Any] = []
            for command in commands:
                try:
                    replies.append(await self.redis.parse_response(connection, _name(command)))
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        finally:
            await pool.release(connection)
        return replies

    async def _cluster_pipeline(self, cluster: RedisCluster, commands: list[Command]) -> list[Any]:
        """Send each command to the primary owning its slot: one pipeline per node, all at once.

        A node whose connection fails fails only the callers with a command on it (their reply is
        a :class:`NodeFailure`, raised to them by :meth:`_send`: nothing is sent twice), and has
        the topology read again before the next batch (the node may have failed over); the other
        nodes' callers get their answers, so a failover stalls a third of a 3-primary cluster,
        not all of it. A ``MOVED`` or ``ASK`` answer means the command did not run: it is sent
        again, to the slot's owner after a fresh topology read, up to :data:`MOVED_ATTEMPTS` times.
        """
        await cluster.initialize()  # at once unless the first time, or after a refresh was asked for
        replies: list[Any] = [None] * len(commands)
        waiting = list(range(len(commands)))
        failed = False
        for attempt in range(MOVED_ATTEMPTS):
            by_node: dict[ClusterNode, list[int]] = {}
            for n in waiting:
                by_node.setdefault(self._node(cluster, commands[n]), []).append(n)
            sent = list(by_node.items())
            results = await asyncio.gather(
                *(self._node_pipeline(node, [commands[n] for n in numbers]) for node, numbers in sent),
                return_exceptions=True,
            )
            waiting = []
            for (_, numbers), result in zip(sent, results, strict=True):
                if isinstance(result, Exception):
                    failed = True
                    for n in numbers:
                        replies[n] = NodeFailure(result)
                    continue
                if isinstance(result, BaseException):
                    raise result  # a cancellation: the whole batch fails (see _send)
                for n, reply in zip(numbers, result, strict=True):
                    replies[n] = reply
                    if isinstance(reply, AskError) and attempt + 1 < MOVED_ATTEMPTS:  # MovedError is one
                        waiting.append(n)
            if not waiting:
                break
            await self._refresh(cluster, force=True)
        if failed:
            await self._refresh(cluster)
        return replies

    def _node(self, cluster: RedisCluster, command: Command) -> ClusterNode:
        """The primary owning the slot of the command's first key (keyless: the default node)."""
        key = _first_key(command)
        if key is None:
            return cluster.get_default_node()
        return cluster.nodes_manager.get_node_from_slot(cluster.keyslot(key))

    async def _node_pipeline(self, node: ClusterNode, commands: list[Command]) -> list[Any]:
        """:meth:`_pipeline` on one cluster node's pooled connection."""
        packed = b"".join(hiredis.pack_command(_wire(command, sharded=True)) for command in commands)
        connection: Connection = node.acquire_connection()
        try:
            await connection.send_packed_command(packed)
            replies: list[Any] = []
            for command in commands:
                try:
                    replies.append(await node.parse_response(connection, _name(command)))
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        finally:
            node.release(connection)
        return replies

    async def _refresh(self, cluster: RedisCluster, force: bool = False) -> None:
        """Read the cluster's topology again, at most once per :data:`TOPOLOGY_REFRESH_SECONDS`.

        After a failed connection the refresh is best effort (the failure goes to the callers
        anyway; the next batch tries again).
        """
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            if not force and time.monotonic() - self._refreshed_at < TOPOLOGY_REFRESH_SECONDS:
                return
            try:
                await cluster.nodes_manager.initialize()
            except Exception:  # no node answers yet: the next batch asks again
                if force:
                    raise
            finally:
                self._refreshed_at = time.monotonic()

    async def drain(self) -> None:
        """Wait for the batches on their way (on shutdown)."""
        self._flush()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _is_script(command: Command) -> bool:
    return isinstance(command[0], Script)


def _node_failure(replies: list[Any]) -> NodeFailure | None:
    """The first failed node among one caller's replies (cluster batches only)."""
    return next((reply for reply in replies if isinstance(reply, NodeFailure)), None)


def _first_key(command: Command) -> Any:
    """The key that routes a command on a cluster (a script's first of ``KEYS``); ``None``: keyless."""
    if _is_script(command):
        return command[2] if command[1] else None
    return command[1] if len(command) > 1 else None


def _wire(command: Command, sharded: bool = False) -> tuple[Any, ...]:
    """The command as sent: a registered script goes out as ``EVALSHA sha numkeys ...`` (on a
    cluster, ``sharded``, its variant that publishes on sharded pub/sub)."""
    if _is_script(command):
        return ("EVALSHA", command[0].sharded_sha if sharded else command[0].sha, *command[1:])
    return tuple(command)


def _name(command: Command) -> str:
    """The name the client's response callbacks know the command by."""
    return "EVALSHA" if _is_script(command) else str(command[0]).upper()
