"""When Redis or Postgres is away: 503 naming which, never a 500; health says so too."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import free_port, make_clinic, notify_settings


async def test_redis_away_gives_503_with_the_dependency_named(settings: Settings, admin: dict[str, str]) -> None:
    # Set the clinic up while Redis answers, then talk to it through a gateway whose Redis is gone.
    async with AsyncTestClient(app=create_app(settings), timeout=30) as up:
        clinic = await make_clinic(up, admin)
        session = await up.post("/v1/sessions", json={"organisation_slug": clinic.slug})
    away = msgspec.structs.replace(
        settings, redis=msgspec.structs.replace(settings.redis, url=f"redis://127.0.0.1:{free_port()}/0")
    )
    async with AsyncTestClient(app=create_app(away), timeout=30) as down:
        health = await down.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["postgres"] == "ok" and health.json()["checks"]["redis"] != "ok"
        r = await down.post(
            "/v1/holds",
            json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)},
            headers={"Authorization": f"Bearer {session.json()['token']}"},
        )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable" and r.json()["dependency"] == "redis"
        assert r.headers["retry-after"] == "1"
        # what needs only Postgres still works
        assert (await down.get(f"/v1/doctors/{clinic.doctor_id}")).status_code == 200


class Relay:
    """A TCP relay to Postgres on a port of its own, opened when the test says so.

    It runs on threads of its own: the test client drives the app from a portal, and a relay on
    the test's event loop would not be served while the test waits for an answer.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: socketserver.ThreadingTCPServer | None = None

    def open(self) -> None:
        target = self.target

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(target) as upstream:
                    pump = threading.Thread(target=copy, args=(upstream, self.request), daemon=True)
                    pump.start()
                    copy(self.request, upstream)
                    pump.join(timeout=5)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def copy(source: socket.socket, sink: socket.socket) -> None:
    """Bytes from ``source`` to ``sink`` until either side closes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


async def test_a_gateway_started_before_postgres_answers_503_then_recovers(
    settings: Settings, admin: dict[str, str]
) -> None:
    async with AsyncTestClient(app=create_app(settings), timeout=30) as up:
        clinic = await make_clinic(up, admin)
    url = urlsplit(settings.database.url)
    relay = Relay((url.hostname or "127.0.0.1", url.port or 5432))
    user = f"{url.username}@" if url.username else ""
    via_relay = url._replace(netloc=f"{user}127.0.0.1:{relay.port}")
    early = msgspec.structs.replace(
        settings, database=msgspec.structs.replace(settings.database, url=urlunsplit(via_relay))
    )
    try:
        # nothing listens on the relay's port yet: the gateway starts all the same
        async with AsyncTestClient(app=create_app(early), timeout=30) as gateway:
            health = await gateway.get("/healthz")
            assert health.status_code == 503
            assert health.json()["checks"]["redis"] == "ok" and health.json()["checks"]["postgres"] != "ok"
            r = await gateway.get(f"/v1/doctors/{clinic.doctor_id}")
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "unavailable" and r.json()["dependency"] == "postgres"

            relay.open()  # Postgres "comes up"
            health = await gateway.get("/healthz")
            assert health.status_code == 200, health.text
            r = await gateway.get(f"/v1/doctors/{clinic.doctor_id}")
            assert r.status_code == 200, r.text
    finally:
        relay.close()


async def test_postgres_refusing_more_connections_gives_503_then_recovers(
    settings: Settings, admin: dict[str, str]
) -> None:
    """ "Too many clients" is Postgres being busy, not the request's fault: 503 naming Postgres (the
    start and the request both wait it out), then the same gateway serves once a slot is free."""
    async with AsyncTestClient(app=create_app(settings), timeout=30) as up:
        clinic = await make_clinic(up, admin)
    role = f"gw_limited_{uuid.uuid4().hex[:12]}"
    schema = settings.database.schema
    owner = await asyncpg.connect(settings.database.url)
    await owner.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    await owner.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    await owner.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    url = urlsplit(settings.database.url)
    as_role = urlunsplit(url._replace(netloc=f"{role}@{url.hostname}:{url.port or 5432}"))
    limited = msgspec.structs.replace(
        notify_settings(settings), database=msgspec.structs.replace(settings.database, url=as_role, pool_min=1)
    )
    squatter = await asyncpg.connect(as_role)  # the role's only connection
    try:
        async with AsyncTestClient(app=create_app(limited), timeout=30) as gateway:
            r = await gateway.get(f"/v1/doctors/{clinic.doctor_id}")
            assert r.status_code == 503, r.text
            assert (r.json()["code"], r.json()["dependency"]) == ("unavailable", "postgres")
            assert r.headers["retry-after"] == "1"

            await squatter.close()
            r = await gateway.get(f"/v1/doctors/{clinic.doctor_id}")
            assert r.status_code == 200, r.text
            assert r.json()["id"] == clinic.doctor_id
    finally:
        await squatter.close()
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()
