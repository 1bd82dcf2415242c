"""The expiry sweeper: announces lapsed holds without anyone asking (design invariant 4).

Keyspace notifications arrive late and are lost while a process is away, so they are not used
as the signal. Instead every gateway process walks the deadline index a few times a second;
the Lua script decides who announces, so each lapse is announced once however many run. Holds
that lapsed while every gateway was down are announced by the first sweep after start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from holds.engine import HoldEngine

logger = logging.getLogger("holds.sweeper")


class Sweeper:
    """Runs :meth:`HoldEngine.expire_due` every ``interval`` seconds in the background."""

    def __init__(self, engine: HoldEngine, interval: float = 0.2) -> None:
        self.engine = engine
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def sweep(self) -> int:
        """One pass until nothing more is due; returns how many holds it expired."""
        total = 0
        while True:
            expired = await self.engine.expire_due()
            total += expired
            if expired < 500:
                if total:
                    logger.info(
                        "sweeper: %d lapsed hold(s) expired", total, extra={"action": "holds.expire", "count": total}
                    )
                return total

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except (RedisError, OSError) as exc:
                if _cancelled():
                    raise
                logger.warning("sweep failed, retrying: %s", exc)
            except Exception:
                if _cancelled():
                    raise
                # Anything else is a bug, but the loop must outlive it: a dead sweeper would leave
                # every later lapse of this process unannounced.
                logger.exception("sweep failed unexpectedly, retrying")
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._stopping.wait()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="hold-sweeper")

    async def stop(self, grace: float = 2.0) -> None:
        """Stop sweeping; returns within ``grace`` seconds even if a Redis call swallows the cancellation."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        task.cancel()
        # redis-py can turn a cancellation during a read into a ConnectionError; the stop flag and
        # the bounded wait make sure shutdown never hangs on it (SIGTERM must drain within 5 s).
        await asyncio.wait({task}, timeout=grace)
        if task.done() and not task.cancelled() and task.exception() is not None:
            logger.warning("sweeper ended with %r", task.exception())


def _cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
