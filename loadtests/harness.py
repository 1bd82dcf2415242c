"""What the benchmark and the swarm share: a throw-away local gateway, a lean HTTP client, clinics.

A local gateway gets a schema and a Redis prefix of its own (``bench_<tag>`` / ``bench<tag>``) on
``DATABASE_URL`` / ``REDIS_URL``, rate limits off, and everything is removed when it stops, so
runs never touch a real deployment's data and can run side by side with the test suite.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def raise_open_files(needed: int) -> int:
    """Raise this process's descriptor limit to at least ``needed`` (children inherit it).

    Returns:
        The soft limit now in force (root may lift the hard limit too; others get at most it).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))
        return needed
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    return min(needed, hard)


def rss_kb(pid: int) -> int:
    """A process's resident memory in kB (``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class LocalGateway:
    """A ``gateway serve`` subprocess on its own schema and Redis prefix."""

    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    admin_token: str
    log_path: str | None = None
    pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The serving process (with one worker: the process itself)."""
        return self.process.pid

    def store_env(self) -> dict[str, str]:
        """The variables that point a consistency check at this gateway's stores."""
        names = ("DATABASE_URL", "GATEWAY_DB_SCHEMA", "REDIS_URL", "GATEWAY_REDIS_PREFIX", "GATEWAY_ADMIN_TOKEN")
        return {name: self.env[name] for name in names if name in self.env}


def start_gateway(
    *, workers: int = 1, extra_env: dict[str, str] | None = None, log_path: str | None = None
) -> LocalGateway:
    """Migrate a throw-away schema and serve it on a free loopback port (rate limits off).

    Raises:
        RuntimeError: when the gateway does not become healthy within 30 s.
    """
    tag = uuid.uuid4().hex[:10]
    admin_token = f"bench-{uuid.uuid4().hex}"
    env = (
        os.environ
        | {
            "GATEWAY_DB_SCHEMA": f"bench_{tag}",
            "GATEWAY_REDIS_PREFIX": f"bench{tag}",
            "GATEWAY_ADMIN_TOKEN": admin_token,
            "GATEWAY_RATE_LIMITS": "off",
            "GATEWAY_SECRET_KEY": f"bench-secret-{tag}-{uuid.uuid4().hex}",  # serve wants 32 bytes at least
        }
        | (extra_env or {})
    )
    env.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gateway")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    gateway = [sys.executable, "-m", "gateway"]
    subprocess.run([*gateway, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    port = free_port()
    serve = [*gateway, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen([*serve, "--log-level", "warning"], env=env, stdout=log, stderr=log)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LocalGateway(url, process, env, admin_token, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait()
    drop_stores(env)
    raise RuntimeError("the gateway did not become healthy (see its log)")


def stop_gateway(gateway: LocalGateway) -> None:
    """SIGTERM our gateway, then remove its schema and Redis keys."""
    if gateway.process.poll() is None:
        gateway.process.terminate()
        try:
            gateway.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait()
    drop_stores(gateway.env)


def drop_stores(env: dict[str, str]) -> None:
    """Drop the schema and delete the Redis keys named by ``env`` (never ``public`` or ``gw``)."""
    from gateway.settings import Settings

    settings = Settings.from_env(env)
    if settings.database.schema == "public" or settings.redis.prefix == "gw":
        return

    async def drop() -> None:
        import asyncpg
        from redis.asyncio import Redis
        from redis.asyncio.cluster import RedisCluster

        conn = await asyncpg.connect(settings.database.url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.database.schema}" CASCADE')
        finally:
            await conn.close()
        if settings.redis.cluster:
            # a cluster: the client scans every primary and cuts each DEL by slot
            cluster = RedisCluster.from_url(settings.redis.url)
            try:
                found = [key async for key in cluster.scan_iter(match=f"{settings.redis.prefix}:*", count=2000)]
                for at in range(0, len(found), 1000):
                    await cluster.delete(*found[at : at + 1000])
            finally:
                await cluster.aclose()
            return
        redis = Redis.from_url(settings.redis.url)
        try:
            batch: list[Any] = []
            async for key in redis.scan_iter(match=f"{settings.redis.prefix}:*", count=2000):
                batch.append(key)
                if len(batch) >= 1000:
                    await redis.delete(*batch)
                    batch.clear()
            if batch:
                await redis.delete(*batch)
        finally:
            await redis.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(drop())
        return
    # called from a coroutine (the benchmark): the clean-up gets a loop of its own in a thread
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop()).result()


class RawHTTP:
    """One keep-alive HTTP/1.1 connection with as little client-side work as possible.

    The benchmark shares two cores with the gateway, Redis and Postgres: every microsecond the
    client spends is one the server does not get, so this speaks just enough HTTP for JSON
    requests and ``Content-Length`` answers (what the gateway sends outside of event streams),
    as a bare protocol: the event loop hands it bytes and it wakes its caller once per answer.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._protocol: _Answers | None = None
        self._head = f"Host: {host}:{port}\r\n".encode()

    async def connect(self) -> None:
        """Open the connection (a request opens it too when needed)."""
        loop = asyncio.get_running_loop()
        _, self._protocol = await loop.create_connection(_Answers, self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its answer.

        Returns:
            The status code and the body.
        """
        if self._protocol is None:
            await self.connect()
        assert self._protocol is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()).encode()
        kind = b"Content-Type: application/json\r\n" if body else b""
        return await self._protocol.ask(
            b"%s %s HTTP/1.1\r\n%s%s%sContent-Length: %d\r\n\r\n%s"
            % (method.encode(), path.encode(), self._head, extra, kind, len(body), body)
        )

    async def close(self) -> None:
        """Close the connection."""
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


async def time_slots(host: str, port: int, query: str, requests: int, what: str) -> tuple[list[float], int]:
    """Ask a ``/slots`` query ``requests`` times, one at a time on one connection, after 20 that
    warm the caches; each answer's latency in ms, and how many slots the last one held.

    Raises:
        RuntimeError: naming ``what`` when an answer is not 200.
    """
    conn = RawHTTP(host, port)
    latencies: list[float] = []
    slots = 0
    try:
        for n in range(requests + 20):
            began = time.perf_counter()
            status, raw = await conn.request("GET", query)
            if n >= 20:  # the first ones warm the caches
                latencies.append((time.perf_counter() - began) * 1000)
            if status != 200:
                raise RuntimeError(f"{what} answered {status}: {raw[:300]!r}")
            slots = len(json.loads(raw)["slots"])
    finally:
        await conn.close()
    return latencies, slots


class _Answers(asyncio.Protocol):
    """The protocol under :class:`RawHTTP`: one request in flight, its answer parsed in place."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def ask(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        if self._lost is not None or self._transport is None:
            raise ConnectionError(f"the connection is closed ({self._lost!r})")
        self._waiting = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return self._waiting

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiting is None:
            return
        head = bytes(self._buffer[:end])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if len(self._buffer) < end + 4 + length:
            return
        answer = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        waiting, self._waiting = self._waiting, None
        if not waiting.done():
            waiting.set_result((int(head[9:12]), answer))

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionError("closed by the server")
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(self._lost)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


_encode = msgspec.json.encode


def body(value: object) -> bytes:
    """JSON request body."""
    return _encode(value)


@dataclass(frozen=True)
class BenchClinic:
    """A throw-away organisation with doctors and one appointment type, made through the admin API."""

    organisation_id: str
    slug: str
    doctor_ids: list[str]
    type_id: str


async def make_clinic(
    http: httpx.AsyncClient,
    admin_token: str,
    *,
    doctors: int = 1,
    windows: list[tuple[int, int, int]] | None = None,
    minutes: int = 30,
    type_rules: dict[str, Any] | None = None,
    name: str = "Bench",
) -> BenchClinic:
    """Create an organisation, ``doctors`` doctors in UTC with ``windows`` (weekday, start, end
    minute; default open around the clock) and one appointment type of ``minutes``.

    Raises:
        httpx.HTTPStatusError: when the gateway refuses a step (a wrong admin token, mostly).
    """
    admin = {"Authorization": f"Bearer {admin_token}"}

    async def created(path: str, payload: dict[str, Any]) -> str:
        r = await http.post(path, json=payload, headers=admin)
        r.raise_for_status()
        return str(r.json()["id"])

    slug = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    org = await created("/v1/admin/organisations", {"name": name, "slug": slug})
    opening = windows if windows is not None else [(weekday, 0, 1440) for weekday in range(1, 8)]
    doctor_ids = []
    for n in range(doctors):
        doctor = await created(
            "/v1/admin/doctors", {"organisation_id": org, "name": f"Dr. {name} {n}", "timezone": "UTC"}
        )
        for weekday, start, end in opening:
            await created(
                f"/v1/doctors/{doctor}/availability-windows",
                {"weekday": weekday, "start_minute": start, "end_minute": end},
            )
        doctor_ids.append(doctor)
    rules = {"max_advance_days": 365} | (type_rules or {})
    type_id = await created(
        "/v1/admin/appointment-types",
        {"organisation_id": org, "name": f"{minutes} min", "duration_minutes": minutes} | rules,
    )
    return BenchClinic(org, slug, doctor_ids, type_id)


# --- what the benchmark's phases share ---------------------------------------------------------

DAY0 = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def iso(instant: datetime) -> str:
    # isoformat: several times cheaper than strftime, and the hold phase formats one per request
    return instant.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def sessions(url: str, slug: str, count: int, at_once: int = 32) -> list[dict[str, str]]:
    """``count`` anonymous patient sessions (bearer headers)."""
    host, port = address(url)
    conns = [RawHTTP(host, port) for _ in range(min(at_once, count))]
    out: list[dict[str, str]] = []

    async def worker(conn: RawHTTP, share: int) -> None:
        for _ in range(share):
            status, raw = await conn.request("POST", "/v1/sessions", body({"organisation_slug": slug}))
            if status != 201:
                raise RuntimeError(f"POST /v1/sessions answered {status}: {raw[:200]!r}")
            out.append({"Authorization": f"Bearer {json.loads(raw)['token']}"})
        await conn.close()

    shares = [count // len(conns) + (n < count % len(conns)) for n in range(len(conns))]
    await asyncio.gather(*(worker(c, s) for c, s in zip(conns, shares, strict=True)))
    return out
