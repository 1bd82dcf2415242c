"""The benchmark: one run, one table, ``bench-report.json`` and a fan-out plot (numbers, not assertions).

    python -m loadtests.bench [--workers 2] [--max-clients 20000] [--out bench-report.json]

It starts its own gateways on ``DATABASE_URL`` / ``REDIS_URL`` (throw-away schema and Redis
prefix, rate limits off; removed afterwards) and measures:

- ``redis_setnx_per_s``: raw ``SET NX PX`` (RESP over 32 connections), the ceiling a hold could reach;
- ``holds_per_s``, ``hold_p50_ms``, ``hold_p99_ms``: distinct holds over 8 doctors, 32 in flight;
- ``holds_per_s_64``, ``hold_p50_ms_64``, ``hold_p99_ms_64``: the same with 64 in flight (a fresh clinic);
- ``slots_p50_ms``, ``slots_p99_ms``: one doctor's free slots over 31 days, one request at a time;
- ``slots_crowded_p50_ms``, ``slots_crowded_p99_ms``: the same for a doctor with 2,000 live holds
  (``--crowded-holds``), most of them beyond the 31 days asked (loadtests/crowded.py);
- ``race_1000_one_slot_s``, ``race_winners``: 1000 concurrent holds of one slot;
- ``fanout``: hold -> event latency and server memory per idle SSE connection at 1,000 and 5,000
  clients, then in steps of 5,000 up to the most one gateway process holds (``--max-clients``);
- ``floor``: the same clients against tiny apps with no gateway code (``loadtests/floor.py``) at
  ``--floor-clients``, each variant in turn: what the parts under the fan-out cost in this run.

Fan-out always runs against a single-process gateway (one process, one Redis subscription); the
hold, slots and race phases against ``--workers`` processes. Clients are raw sockets (the SSE
ones spread over ``--client-processes`` processes), because on two shared cores a heavy client
measures itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from loadtests.crowded import crowded_slots_phase
from loadtests.fanout import fanout_phase, plot
from loadtests.floor import floor_rows
from loadtests.harness import (
    DAY0,
    BenchClinic,
    LocalGateway,
    RawHTTP,
    address,
    body,
    iso,
    make_clinic,
    percentile,
    raise_open_files,
    sessions,
    start_gateway,
    stop_gateway,
    time_slots,
)

PHASES = ("setnx", "holds", "holds64", "slots", "crowded", "race", "fanout", "floor")
"""Every phase, in the order they run (``--only`` picks some)."""

# --- Redis ceiling ---------------------------------------------------------------------------


async def redis_setnx(redis_url: str, prefix: str, seconds: float = 3.0, concurrency: int = 32) -> float:
    """``SET key v NX PX 60000`` per second over ``concurrency`` connections, one command in flight
    on each (as a hold has one round trip in flight per request), spoken as raw RESP so the
    client costs as little as it can: the most a one-round-trip hold could reach here."""
    parts = urlsplit(redis_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    db = (parts.path or "/0").strip("/") or "0"
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(db), db.encode()))
        await reader.readline()
        i = 0
        while time.perf_counter() < deadline:
            key = f"{prefix}:setnx:{n}:{i}".encode()
            writer.write(
                b"*6\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n$2\r\nNX\r\n$2\r\nPX\r\n$5\r\n60000\r\n" % (len(key), key)
            )
            await reader.readline()  # +OK (or $-1 when the key existed)
            i += 1
            done += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done / (time.perf_counter() - began)


# --- holds -----------------------------------------------------------------------------------


async def holds_phase(
    gw: LocalGateway, clinic: BenchClinic, seconds: float, concurrency: int, warmup: float = 2.0
) -> dict[str, float]:
    """Distinct slots held as fast as ``concurrency`` keep-alive clients can (closed loop).

    The first ``warmup`` seconds are not counted: the gateway's pools, caches and verified
    sessions fill up then, and the phase reports the steady state a swarm meets.
    """
    patients = await sessions(gw.url, clinic.slug, concurrency)
    host, port = address(gw.url)
    doctors = clinic.doctor_ids
    counter = iter(range(10**9))

    def next_body() -> bytes:
        n = next(counter)
        start = DAY0 + timedelta(minutes=30 * (n // len(doctors)))
        return body(
            {"doctor_id": doctors[n % len(doctors)], "appointment_type_id": clinic.type_id, "start": iso(start)}
        )

    conns = [RawHTTP(host, port) for _ in range(concurrency)]
    for n, doctor in enumerate(doctors):  # warm: each doctor's booked cells come from Postgres once
        status, raw = await conns[0].request("POST", "/v1/holds", next_body(), patients[n % len(patients)])
        if status != 201:
            raise RuntimeError(f"warm-up hold of {doctor} answered {status}: {raw[:300]!r}")
    latencies: list[float] = []
    errors = 0
    deadline = 0.0

    async def worker(conn: RawHTTP, patient: dict[str, str]) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            payload = next_body()
            began = time.perf_counter()
            status, _ = await conn.request("POST", "/v1/holds", payload, patient)
            latencies.append((time.perf_counter() - began) * 1000)
            errors += status != 201

    for conn in conns:
        await conn.connect()
    for seconds_now in (warmup, seconds):  # warm up, then measure
        latencies.clear()
        errors = 0
        began = time.perf_counter()
        deadline = began + seconds_now
        await asyncio.gather(*(worker(c, p) for c, p in zip(conns, patients, strict=True)))
    elapsed = time.perf_counter() - began
    for conn in conns:
        await conn.close()
    ok = len(latencies) - errors
    return {
        "holds_per_s": ok / elapsed,
        "hold_p50_ms": statistics.median(latencies),
        "hold_p99_ms": percentile(latencies, 0.99),
        "hold_errors": float(errors),
        "holds_made": float(ok),
    }


# --- slots -----------------------------------------------------------------------------------


async def slots_phase(gw: LocalGateway, requests: int) -> dict[str, float]:
    """One doctor with a working week (Mon-Fri 08-12 and 13-18, Sat 09-13), some bookings and holds;
    the free slots of 31 days, asked ``requests`` times one after another."""
    week = [(d, 480, 720) for d in range(1, 6)] + [(d, 780, 1080) for d in range(1, 6)] + [(6, 540, 780)]
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        clinic = await make_clinic(http, gw.admin_token, windows=week, name="Slots")
        doctor = clinic.doctor_ids[0]
        patient = (await sessions(gw.url, clinic.slug, 1))[0]
        frm, to = datetime.now(UTC), datetime.now(UTC) + timedelta(days=31)
        query = f"/v1/doctors/{doctor}/slots?appointment_type_id={clinic.type_id}&from={iso(frm)}&to={iso(to)}"
        free = (await http.get(query)).json()["slots"]
        for n, slot in enumerate(free[5 : 5 + 60 : 2]):  # 30 taken: 20 booked, 10 held
            r = await http.post(
                "/v1/holds",
                json={"doctor_id": doctor, "appointment_type_id": clinic.type_id, "start": slot["start"]},
                headers=patient,
            )
            r.raise_for_status()
            if n < 20:
                held = r.json()
                r = await http.post(
                    f"/v1/holds/{held['hold_id']}/confirm",
                    json={"patient": {"name": "Bench", "email": "bench@example.org"}},
                    headers={"X-Hold-Token": held["hold_token"]} | patient,
                )
                r.raise_for_status()
    latencies, slots = await time_slots(*address(gw.url), query, requests, "slots")
    return {
        "slots_p50_ms": statistics.median(latencies),
        "slots_p99_ms": percentile(latencies, 0.99),
        "slots_returned": float(slots),
    }


# --- the race --------------------------------------------------------------------------------


async def race_phase(gw: LocalGateway, racers: int) -> dict[str, Any]:
    """``racers`` patients, each on a connection of their own, hold one slot at the same moment."""
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        clinic = await make_clinic(http, gw.admin_token, name="Race")
    patients = await sessions(gw.url, clinic.slug, racers)
    host, port = address(gw.url)
    conns = [RawHTTP(host, port) for _ in range(racers)]
    gate = asyncio.Semaphore(100)

    async def connect(conn: RawHTTP) -> None:
        async with gate:
            await conn.connect()

    await asyncio.gather(*(connect(c) for c in conns))
    payload = body({"doctor_id": clinic.doctor_ids[0], "appointment_type_id": clinic.type_id, "start": iso(DAY0)})
    go = asyncio.Event()
    statuses: list[int] = []

    async def racer(conn: RawHTTP, patient: dict[str, str]) -> None:
        await go.wait()
        status, _ = await conn.request("POST", "/v1/holds", payload, patient)
        statuses.append(status)

    tasks = [asyncio.create_task(racer(c, p)) for c, p in zip(conns, patients, strict=True)]
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    await asyncio.gather(*(c.close() for c in conns))
    return {
        "race_1000_one_slot_s": elapsed,
        "race_winners": float(statuses.count(201)),
        "race_conflicts": float(statuses.count(409)),
        "race_other": float(len(statuses) - statuses.count(201) - statuses.count(409)),
        "race_statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
    }


# --- report ----------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    """The report as a plain text table."""
    lines = [f"{'metric':<24} {'value':>12}", "-" * 37]
    for key, value in report.items():
        if isinstance(value, float | int) and not isinstance(value, bool):
            lines.append(f"{key:<24} {value:>12,.2f}")
    lines += ["", f"{'SSE clients':>11} {'p50 ms':>8} {'p99 ms':>8} {'kB/conn':>8} {'delivered':>10}"]
    for row in report.get("fanout", []):
        lines.append(
            f"{row['clients']:>11,.0f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['kb_per_connection']:>8.1f} {row['delivered']:>10.3f}"
        )
    if report.get("floor"):
        lines += ["", f"{'floor':<18} {'clients':>8} {'p50 ms':>8} {'p99 ms':>8} {'kB/conn':>8} {'delivered':>10}"]
        for row in report["floor"]:
            lines.append(
                f"{row['variant']:<18} {row['clients']:>8,.0f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
                f"{row['kb_per_connection']:>8.1f} {row['delivered']:>10.3f}"
            )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_open_files(args.max_clients * 2 + 4096)
    report: dict[str, Any] = {}
    began = time.perf_counter()
    phases = set(args.only.split(",")) if args.only else set(PHASES)
    if unknown := phases - set(PHASES):
        raise SystemExit(f"unknown phase(s) {', '.join(sorted(unknown))}; known: {', '.join(PHASES)}")

    if phases & {"setnx", "holds", "holds64", "slots", "crowded", "race"}:
        gw = start_gateway(workers=args.workers, log_path=args.log)
        try:
            if "setnx" in phases:
                report["redis_setnx_per_s"] = await redis_setnx(gw.env["REDIS_URL"], gw.env["GATEWAY_REDIS_PREFIX"])
                print(f"  redis SET NX PX: {report['redis_setnx_per_s']:,.0f}/s", flush=True)
            if "holds" in phases:
                async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
                    clinic = await make_clinic(http, gw.admin_token, doctors=8, name="Holds")
                report |= await holds_phase(gw, clinic, args.hold_seconds, args.concurrency)
                print(
                    f"  holds: {report['holds_per_s']:,.0f}/s  p50 {report['hold_p50_ms']:.1f} ms  "
                    f"p99 {report['hold_p99_ms']:.1f} ms  errors {report['hold_errors']:.0f}",
                    flush=True,
                )
            if "holds64" in phases:
                async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
                    clinic = await make_clinic(http, gw.admin_token, doctors=8, name="Holds64")
                wide = await holds_phase(gw, clinic, args.hold_seconds, 64)
                report |= {f"{key}_64": value for key, value in wide.items()}
                print(
                    f"  holds at 64 in flight: {report['holds_per_s_64']:,.0f}/s  p50 {report['hold_p50_ms_64']:.1f} ms"
                    f"  p99 {report['hold_p99_ms_64']:.1f} ms  errors {report['hold_errors_64']:.0f}",
                    flush=True,
                )
            if "slots" in phases:
                report |= await slots_phase(gw, args.slots_requests)
                print(f"  slots: p50 {report['slots_p50_ms']:.1f} ms  p99 {report['slots_p99_ms']:.1f} ms", flush=True)
            if "crowded" in phases:
                report |= await crowded_slots_phase(gw, args.crowded_holds, args.slots_requests)
                print(
                    f"  slots, {args.crowded_holds:,} live holds: p50 {report['slots_crowded_p50_ms']:.1f} ms"
                    f"  p99 {report['slots_crowded_p99_ms']:.1f} ms",
                    flush=True,
                )
            if "race" in phases:
                report |= await race_phase(gw, 1000)
                print(
                    f"  race: {report['race_1000_one_slot_s']:.2f} s, {report['race_winners']:.0f} winner(s)",
                    flush=True,
                )
        finally:
            stop_gateway(gw)

    if "fanout" in phases:
        gw = start_gateway(workers=1, log_path=args.log)
        try:
            rows, stopped = await fanout_phase(gw, args)
        finally:
            stop_gateway(gw)
        report["fanout"] = rows
        report["fanout_max_clients"] = max((r["clients"] for r in rows), default=0.0)
        report["fanout_stopped"] = stopped
        if rows:
            plot(rows, args.plot)
    if "floor" in phases:
        report["floor"] = await asyncio.to_thread(
            floor_rows, args.floor_clients, args.floor_events, args.client_processes
        )
    report["bench_seconds"] = time.perf_counter() - began
    report["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "hold_concurrency": args.concurrency,
        "uvloop": _has("uvloop"),
        "httptools": _has("httptools"),
    }
    return report


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gateway processes for holds, slots, race")
    parser.add_argument("--concurrency", type=int, default=32, help="holds in flight at once")
    parser.add_argument("--hold-seconds", type=float, default=8.0)
    parser.add_argument("--slots-requests", type=int, default=300)
    parser.add_argument("--crowded-holds", type=int, default=2000, help="live holds on the crowded doctor")
    parser.add_argument("--max-clients", type=int, default=20_000, help="most SSE clients to try on one process")
    parser.add_argument("--events", type=int, default=20, help="holds announced per fan-out level")
    parser.add_argument("--floor-clients", type=int, default=5000, help="SSE clients of each floor variant")
    parser.add_argument("--floor-events", type=int, default=15, help="events fired at each floor variant")
    parser.add_argument("--client-processes", type=int, default=4, help="processes holding the SSE clients")
    parser.add_argument("--only", help=f"comma-separated phases to run alone: {','.join(PHASES)}")
    parser.add_argument("--out", default="bench-report.json")
    parser.add_argument("--plot", default="bench-fanout.png")
    parser.add_argument("--log", help="append the gateways' output to this file")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    report = asyncio.run(run(args))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print()
    print(table(report))
    print(f"\nwrote {args.out}" + (f" and {args.plot}" if report.get("fanout") else ""))


if __name__ == "__main__":
    main()
