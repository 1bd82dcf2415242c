"""Closing a process's services never hangs, whatever was left behind."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from gateway.services import Services
from gateway.settings import Settings


async def test_a_connection_never_given_back_does_not_hold_the_shutdown(settings: Settings) -> None:
    services = await Services.open(settings)
    leaked = await services.db.acquire()  # taken by something that will never release it
    closing = asyncio.create_task(services.close(pool_grace_seconds=0.5))
    # not cancelled on expiry: asyncpg's own wait for the connection would then end it for us
    await asyncio.wait({closing}, timeout=10)
    assert closing.done(), "close() waited for a connection that nobody will give back"
    closing.result()
    with pytest.raises(asyncpg.InterfaceError):  # the connection was cut, not left open
        await leaked.fetchval("SELECT 1")
