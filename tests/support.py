"""Helpers for tests: clinics made through the API, gateway processes on free ports."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from holds.engine import BookedInterval

ADMIN_TOKEN = "test-admin-token"


@dataclass
class Clinic:
    """A clinic made through the API: one organisation, one doctor, a 30- and a 60-minute type."""

    organisation_id: str
    doctor_id: str
    timezone: str
    type_30: str
    type_60: str
    slug: str = ""

    def slot_day(self, days_ahead: int = 2) -> datetime:
        """Local midnight ``days_ahead`` days from now, as a UTC instant (a day with windows)."""
        tz = ZoneInfo(self.timezone)
        day = (datetime.now(tz) + timedelta(days=days_ahead)).date()
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    def at(self, days_ahead: int, hour: int, minute: int = 0) -> str:
        """The UTC ISO instant of a local wall time ``days_ahead`` days from now."""
        tz = ZoneInfo(self.timezone)
        day = (datetime.now(tz) + timedelta(days=days_ahead)).date()
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def make_clinic(
    client: AsyncTestClient[Litestar],
    admin: dict[str, str],
    timezone: str = "Europe/Berlin",
    **type_rules: Any,
) -> Clinic:
    """Create an organisation, a doctor open every day 08:00-18:00 and two appointment types."""
    slug = f"c-{uuid.uuid4().hex[:10]}"
    r = await client.post("/v1/admin/organisations", json={"name": "Test Clinic", "slug": slug}, headers=admin)
    assert r.status_code == 201, r.text
    org = r.json()["id"]
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": org, "name": "Dr. Test", "timezone": timezone},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    doctor = r.json()["id"]
    for weekday in range(1, 8):
        r = await client.post(
            f"/v1/doctors/{doctor}/availability-windows",
            json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    types = []
    for minutes in (30, 60):
        body = {"organisation_id": org, "name": f"{minutes} min", "duration_minutes": minutes} | type_rules
        r = await client.post("/v1/admin/appointment-types", json=body, headers=admin)
        assert r.status_code == 201, r.text
        types.append(r.json()["id"])
    return Clinic(org, doctor, timezone, types[0], types[1], slug)


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a gateway process use ``settings``."""
    return os.environ | {
        "DATABASE_URL": settings.database.url,
        "GATEWAY_DB_SCHEMA": settings.database.schema,
        "REDIS_URL": settings.redis.url,
        "GATEWAY_REDIS_PREFIX": settings.redis.prefix,
        "GATEWAY_REDIS_CLUSTER": "on" if settings.redis.cluster else "off",
        "GATEWAY_ADMIN_TOKEN": settings.admin_token or "",
        "GATEWAY_SECRET_KEY": settings.secret_key,
        "GATEWAY_RATE_LIMITS": "on" if settings.rate_limits else "off",
    }


@dataclass
class LiveServer:
    """A gateway process (uvicorn) serving one test's schema and prefix on a free loopback port."""

    url: str
    process: Any  # subprocess.Popen[bytes]
    log_path: str

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, timeout: float = 10) -> float:
        """SIGTERM, then wait; returns the seconds it took to exit."""
        import signal
        import time

        if self.process.poll() is not None:
            return 0.0
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except Exception:
            self.process.kill()
            self.process.wait()
            raise
        return time.monotonic() - began


def start_server(settings: Settings, log_dir: str, extra_env: dict[str, str] | None = None) -> LiveServer:
    """Start ``gateway serve`` as a subprocess and wait until ``/healthz`` answers 200."""
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    log_path = os.path.join(log_dir, f"gateway-{port}.log")
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [*command, "--log-level", os.environ.get("GATEWAY_TEST_LOG_LEVEL", "warning")],
            env=settings_env(settings) | (extra_env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gateway did not become healthy:\n{server.log()}")


async def patient(client: AsyncTestClient[Litestar], clinic: Clinic) -> dict[str, str]:
    """Headers of a fresh anonymous patient session of the clinic's organisation."""
    r = await client.post("/v1/sessions", json={"organisation_slug": clinic.slug})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def patient_sync(base_url: str, slug: str) -> dict[str, str]:
    """The same against a served gateway."""
    import httpx

    r = httpx.post(f"{base_url}/v1/sessions", json={"organisation_slug": slug})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def no_bookings(_: uuid.UUID) -> list[BookedInterval]:
    """A warmer for hold engines in tests that book nothing in Postgres."""
    return []


def notify_settings(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with the app's own notification worker off (the test drives its workers, or
    wants the outbox rows left as written) and ``changes`` to ``notify``."""
    import msgspec

    return msgspec.structs.replace(settings, notify=msgspec.structs.replace(settings.notify, worker=False, **changes))


async def sql(settings: Settings, query: str, *args: Any) -> list[Any]:
    """Run one query on the test's schema (what the API does not show, or time passing)."""
    from store.pool import connect_one

    conn = await connect_one(settings.database)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()
