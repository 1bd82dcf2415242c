"""Helpers for the webhook tests: a receiver on loopback, settings, keys, driving a worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.support import notify_settings as notify_settings
from tests.support import sql as sql

Client = AsyncTestClient[Litestar]


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 (a free port) that records each request and answers with the
    next status of ``answers`` (then ``default``). While ``gate`` is set and not open, requests wait."""

    answers: list[int] = field(default_factory=list)
    default: int = 204
    gate: asyncio.Event | None = None
    extra_headers: str = ""
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.gate is not None:
            self.gate.set()
        assert self.server is not None
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in head[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(method, target, headers, content))
            self.arrived.set()
            if self.gate is not None:
                await self.gate.wait()
            status = self.answers.pop(0) if self.answers else self.default
            head_out = f"HTTP/1.1 {status} Answer\r\nContent-Length: 0\r\nConnection: close\r\n{self.extra_headers}"
            writer.write(f"{head_out}\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]

    def types(self) -> list[str]:
        return [msgspec.json.decode(r.body)["type"] for r in self.requests]


async def admin_key(client: Client, admin: dict[str, str], organisation_id: str) -> dict[str, str]:
    """Headers of a fresh admin API key of the organisation."""
    r = await client.post(f"/v1/admin/organisations/{organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def subscribe(
    client: Client,
    who: dict[str, str],
    organisation_id: str,
    url: str,
    event_types: Sequence[str] = ("appointment.booked",),
    **extra: Any,
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/admin/organisations/{organisation_id}/webhooks",
        json={"url": url, "event_types": list(event_types)} | extra,
        headers=who,
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def due_now(settings: Settings) -> None:
    """Time passes: every pending delivery is due."""
    await sql(settings, "UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'")
