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

    async def sweep(self) -> int:
        """One pass until nothing more is due; returns how many holds it expired."""
        total = 0
        while True:
            expired = await self.engine.expire_due()
            total += expired
            if expired < 500:
                return total

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except (RedisError, OSError) as exc:
                logger.warning("sweep failed, retrying: %s", exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hold-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
