"""Send the Redis commands that many requests issue at about the same moment in one pipeline.

Under load a gateway process has dozens of holds in flight. Sent one pipeline each, every hold
pays redis-py's whole per-call path (a pooled connection, retry wrapper, timeout, pipeline set-up
and reset), which the profile showed as about a fifth of a hold's CPU. A :class:`Batcher` queues
the commands callers hand it during one turn of the event loop and sends them together at the end
of that turn: one connection, one write, one read of all the answers. A lone request waits no
longer than before (the flush runs in the same turn), and Redis runs each caller's commands in
order, one after another, exactly as separate pipelines would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar

import hiredis
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from holds.scripts import Call, Script

R = TypeVar("R")

Command = Sequence[Any]
"""``(name, *args)``, or ``(script, numkeys, *keys, *args)`` with a :class:`~holds.scripts.Script`: sent as a
plain ``EVALSHA`` and, when Redis answers ``NOSCRIPT`` (it restarted or flushed its scripts),
loaded and sent once more, so no caller handles that case."""


class Batcher:
    """Auto-pipelining for one Redis client.

    Args:
        redis: the client whose pool the pipelines use.
        max_batch: most commands one pipeline carries (a longer queue is sent as several).
    """

    def __init__(self, redis: Redis, max_batch: int = 512) -> None:
        self.redis = redis
        self.max_batch = max_batch
        self._queue: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]] = []
        self._queued = 0
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def execute(self, *commands: Command) -> list[Any]:
        """Run ``commands`` (each ``(name, *args)``) back to back; their replies, in order.

        A command Redis refuses comes back as its exception (``raise_on_error=False``), so the
        caller decides. A failure of the connection itself is raised to every caller of that batch.
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
                    script.sha = await self.redis.script_load(script.script)
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
                future.set_result(replies[at : at + len(commands)])
            at += len(commands)

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

    async def drain(self) -> None:
        """Wait for the batches on their way (on shutdown)."""
        self._flush()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _is_script(command: Command) -> bool:
    return isinstance(command[0], Script)


def _wire(command: Command) -> tuple[Any, ...]:
    """The command as sent: a registered script goes out as ``EVALSHA sha numkeys ...``."""
    if _is_script(command):
        return ("EVALSHA", command[0].sha, *command[1:])
    return tuple(command)


def _name(command: Command) -> str:
    """The name the client's response callbacks know the command by."""
    return "EVALSHA" if _is_script(command) else str(command[0]).upper()
