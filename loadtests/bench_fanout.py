"""Fan-out benchmark: N SSE clients on one doctor (numbers to read, not assertions).

    python -m loadtests.bench_fanout [--clients 1000] [--holds 30]
    python -m loadtests.bench_fanout --url http://127.0.0.1:8000 --admin-token TOKEN [--pid PID]

Without ``--url`` it migrates a throw-away schema, starts ``gateway serve`` on a free port (on
``DATABASE_URL`` / ``REDIS_URL``, rate limits off) and removes everything afterwards. It creates a
clinic through the API, opens the SSE clients, then makes holds one after another and reports:

- hold -> event latency: for every (client, event), the client's receive time minus the event's
  ``ts`` (set by Redis when the hold script published it), p50 / p99 / max;
- memory per idle SSE connection: the server's RSS (``/proc/<pid>/status``) after opening the
  clients minus before, divided by N (needs the server's pid: ours, or ``--pid``).

The clients are bare asyncio protocols that only timestamp what arrives and parse it afterwards,
so the client side adds as little as possible to the latency it measures (it shares the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

import httpx


@dataclass
class Gateway:
    url: str
    pid: int | None
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)


class SSEClient(asyncio.Protocol):
    """One raw HTTP/1.1 SSE connection that records ``(arrival time, bytes)`` and nothing more."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.raw = bytearray()
        self.marks: list[tuple[int, float]] = []  # (raw length after this read, when it arrived)
        self.ready = asyncio.get_running_loop().create_future()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they write all the same
        cast(asyncio.Transport, transport).write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.raw += data
        self.marks.append((len(self.raw), now))
        if not self.ready.done() and b"retry:" in self.raw:
            self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"stream closed before it started: {exc!r}"))

    def events(self) -> list[tuple[dict[str, object], float]]:
        """Every event received, with the time its last byte arrived."""
        out = []
        for data, raw_end in _sse_data(bytes(self.raw)):
            arrived = next(t for length, t in self.marks if length >= raw_end)
            out.append((data, arrived))
        return out


def _sse_data(raw: bytes) -> Iterator[tuple[dict[str, object], int]]:
    """``(data object, raw offset where its event ended)`` from a chunked SSE response."""
    head_end = raw.index(b"\r\n\r\n") + 4
    payload = bytearray()
    segments: list[tuple[int, int]] = []  # (payload offset, raw offset) where each chunk starts
    pos = head_end
    while True:
        line_end = raw.find(b"\r\n", pos)
        if line_end < 0:
            break
        size = int(raw[pos:line_end], 16)
        if size == 0 or line_end + 2 + size > len(raw):
            break
        segments.append((len(payload), line_end + 2))
        payload += raw[line_end + 2 : line_end + 2 + size]
        pos = line_end + 2 + size + 2
    start = 0
    while (end := payload.find(b"\n\n", start)) >= 0:
        block = payload[start:end].decode()
        start = end + 2
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            seg_payload, seg_raw = max(s for s in segments if s[0] <= end + 1)
            yield json.loads("\n".join(data)), seg_raw + (end + 1 - seg_payload) + 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def make_clinic(http: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """A throw-away clinic: a doctor open around the clock, a 30-minute type, and a patient session.

    Returns:
        The doctor's id, the type's id and the patient's headers.
    """

    async def created(path: str, body: dict[str, object]) -> str:
        r = await http.post(path, json=body, headers=admin)
        r.raise_for_status()
        return str(r.json()["id"])

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    org = await created("/v1/admin/organisations", {"name": "Bench", "slug": slug})
    doctor = await created("/v1/admin/doctors", {"organisation_id": org, "name": "Dr. Bench", "timezone": "UTC"})
    for weekday in range(1, 8):
        await created(
            f"/v1/doctors/{doctor}/availability-windows", {"weekday": weekday, "start_minute": 0, "end_minute": 1440}
        )
    type_id = await created(
        "/v1/admin/appointment-types",
        {"organisation_id": org, "name": "30 min", "duration_minutes": 30, "max_advance_days": 365},
    )
    r = await http.post("/v1/sessions", json={"organisation_slug": slug})
    r.raise_for_status()
    return doctor, type_id, {"Authorization": f"Bearer {r.json()['token']}"}


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def start_gateway(admin_token: str) -> Gateway:
    """Migrate a throw-away schema and serve it on a free port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tag = uuid.uuid4().hex[:10]
    env = os.environ | {
        "GATEWAY_DB_SCHEMA": f"bench_{tag}",
        "GATEWAY_REDIS_PREFIX": f"bench{tag}",
        "GATEWAY_ADMIN_TOKEN": admin_token,
        "GATEWAY_RATE_LIMITS": "off",
    }
    gateway = [sys.executable, "-m", "gateway"]
    subprocess.run([*gateway, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    serve = [*gateway, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(serve, env=env)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Gateway(url, process.pid, process, env)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway did not become healthy")


def stop_gateway(gateway: Gateway) -> None:
    """Stop our gateway and remove its schema and Redis keys."""
    if gateway.process is None:
        return
    gateway.process.terminate()
    gateway.process.wait(timeout=10)
    script = (
        "import asyncio, asyncpg, redis, os\n"
        "from gateway.settings import Settings\n"
        "s = Settings.from_env()\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(s.database.url)\n"
        "    await conn.execute(f'DROP SCHEMA IF EXISTS \"{s.database.schema}\" CASCADE')\n"
        "    await conn.close()\n"
        "asyncio.run(main())\n"
        "r = redis.Redis.from_url(s.redis.url)\n"
        "keys = list(r.scan_iter(match=s.redis.prefix + ':*', count=1000))\n"
        "for i in range(0, len(keys), 500): r.delete(*keys[i:i + 500])\n"
    )
    subprocess.run([sys.executable, "-c", script], env=gateway.env, check=False)  # noqa: S603


async def open_clients(url: str, doctor: str, count: int, at_once: int = 50) -> list[SSEClient]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET /v1/doctors/{doctor}/events HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    clients: list[SSEClient] = []
    gate = asyncio.Semaphore(at_once)

    async def one() -> None:
        async with gate:
            _, client = await loop.create_connection(lambda: SSEClient(request), host, port)
            await asyncio.wait_for(client.ready, 30)
            clients.append(client)

    await asyncio.gather(*(one() for _ in range(count)))
    return clients


async def run(args: argparse.Namespace) -> dict[str, float]:
    raise_open_files(args.clients + 256)
    admin_token = args.admin_token or f"bench-{uuid.uuid4().hex}"
    gateway = Gateway(args.url, args.pid) if args.url else start_gateway(admin_token)
    try:
        admin = {"Authorization": f"Bearer {admin_token}"}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
            doctor, type_id, patient = await make_clinic(http, admin)
            first = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            starts = ((first + timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(10_000))

            async def hold() -> float:
                began = time.perf_counter()
                body = {"doctor_id": doctor, "appointment_type_id": type_id, "start": next(starts)}
                r = await http.post("/v1/holds", json=body, headers=patient)
                r.raise_for_status()
                return (time.perf_counter() - began) * 1000

            await hold()  # warms the doctor (its booked cells come from Postgres once)
            await asyncio.sleep(args.settle)
            rss_before = rss_kb(gateway.pid) if gateway.pid else None
            began = time.perf_counter()
            clients = await open_clients(gateway.url, doctor, args.clients)
            connect_seconds = time.perf_counter() - began
            await asyncio.sleep(args.settle)
            rss_after = rss_kb(gateway.pid) if gateway.pid else None

            hold_ms = []
            for _ in range(args.holds):
                hold_ms.append(await hold())
                await asyncio.sleep(args.interval)
            # let the last event reach every client (it takes milliseconds; this is generous)
            await asyncio.sleep(max(1.0, args.interval))
    finally:
        if args.url is None:
            stop_gateway(gateway)

    latencies = []
    delivered = 0
    for client in clients:
        for data, arrived in client.events():
            ts = data["ts"]
            assert isinstance(ts, int)
            latencies.append(arrived * 1000 - ts)
            delivered += 1
    result = {
        "clients": float(len(clients)),
        "connect_s": connect_seconds,
        "holds": float(args.holds),
        "events_expected": float(args.holds * len(clients)),
        "events_delivered": float(delivered),
        "hold_request_p50_ms": statistics.median(hold_ms),
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": percentile(latencies, 0.99),
        "latency_max_ms": max(latencies),
    }
    if rss_before is not None and rss_after is not None:
        result["server_rss_before_mb"] = rss_before / 1024
        result["server_rss_after_mb"] = rss_after / 1024
        result["kb_per_idle_connection"] = (rss_after - rss_before) / len(clients)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running gateway (default: start one)")
    parser.add_argument("--admin-token", help="its platform token (required with --url)")
    parser.add_argument("--pid", type=int, help="its process id, for the memory figure (with --url)")
    parser.add_argument("--clients", type=int, default=1000, help="SSE connections to open")
    parser.add_argument("--holds", type=int, default=30, help="holds to make, one after another")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between holds")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds to wait before each RSS reading")
    args = parser.parse_args()
    if args.url and not args.admin_token:
        parser.error("--url needs --admin-token")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:>24}: {value:,.2f}")


if __name__ == "__main__":
    main()
