"""The benchmark's fan-out phase: SSE clients on one gateway process, latency and memory by level."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

import httpx

from loadtests.harness import DAY0, LocalGateway, iso, make_clinic, percentile, rss_kb, sessions
from loadtests.sseclients import SSEFleet


def levels(max_clients: int) -> list[int]:
    """1,000 and 5,000 clients, then steps of 5,000 up to ``max_clients``."""
    out = [n for n in (1000, 5000) if n <= max_clients]
    n = 10_000
    while n <= max_clients:
        out.append(n)
        n += 5000
    if max_clients not in out:
        out.append(max_clients)
    return out


async def fanout_phase(gw: LocalGateway, args: argparse.Namespace) -> tuple[list[dict[str, float]], str]:
    """SSE clients on one doctor; at each level, holds one after another and every client's latency.

    Returns:
        One row per level, and why the ramp stopped.
    """
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        clinic = await make_clinic(http, gw.admin_token, name="Fanout")
        patient = (await sessions(gw.url, clinic.slug, 1))[0]
        doctor = clinic.doctor_ids[0]
        starts = (iso(DAY0 + timedelta(minutes=30 * n)) for n in range(10**6))

        async def hold() -> None:
            payload = {"doctor_id": doctor, "appointment_type_id": clinic.type_id, "start": next(starts)}
            r = await http.post("/v1/holds", json=payload, headers=patient)
            r.raise_for_status()

        await hold()  # warms the doctor
        await asyncio.sleep(1.0)
        rss_base = rss_kb(gw.pid)
        fleet = SSEFleet(gw.url, doctor, processes=args.client_processes)
        rows: list[dict[str, float]] = []
        # one descriptor per connection: the gateway's RLIMIT_NOFILE is a hard ceiling (beyond it,
        # it can accept nothing, not even the holds this phase makes), so the ramp stops short of it
        fd_limit = open_files_limit(gw.pid)
        most = min(args.max_clients, fd_limit - 300)
        stopped = (
            f"reached --max-clients {args.max_clients}"
            if most == args.max_clients
            else f"the gateway's open-files limit ({fd_limit}) caps one process at about {most} streams"
        )
        try:
            alive = 0
            for level in levels(most):
                began = time.perf_counter()
                asked = level - alive
                _, failed, alive, errors = await asyncio.to_thread(fleet.open, asked)
                took = time.perf_counter() - began
                if failed:
                    stopped = f"{failed} of {asked} new connections failed at {alive} open: {'; '.join(errors)}"
                    print(f"  fan-out: {stopped}", flush=True)
                if alive < 100:
                    break
                await asyncio.sleep(1.0)
                rss = rss_kb(gw.pid)
                await asyncio.to_thread(fleet.reset)
                count = args.events if alive <= 5000 else max(8, args.events // 2)
                interval = max(0.25, alive / 10_000)
                for _ in range(count):
                    await hold()
                    await asyncio.sleep(interval)
                await asyncio.sleep(max(1.0, interval))
                latencies, still = await asyncio.to_thread(fleet.collect)
                row = {
                    "clients": float(alive),
                    "p50_ms": percentile(latencies, 0.5),
                    "p99_ms": percentile(latencies, 0.99),
                    "max_ms": max(latencies, default=0.0),
                    "kb_per_connection": (rss - rss_base) / alive,
                    "delivered": len(latencies) / (count * alive),
                    "connect_s": took,
                }
                rows.append(row)
                print(
                    f"  fan-out {alive:>6} clients: p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  "
                    f"{row['kb_per_connection']:5.1f} kB/conn  delivered {row['delivered']:.3f}  "
                    f"(opened in {took:.1f}s)",
                    flush=True,
                )
                if failed or still < alive:
                    if still < alive:
                        stopped = f"{alive - still} streams were dropped at {alive} clients"
                    break
        finally:
            await asyncio.to_thread(fleet.close)
    return rows, stopped


def open_files_limit(pid: int) -> int:
    """A process's soft ``RLIMIT_NOFILE`` (``/proc/<pid>/limits``)."""
    with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise RuntimeError(f"no open-files limit for pid {pid}")


def plot(rows: list[dict[str, float]], path: str) -> None:
    """Fan-out latency (p50, p99) and memory per connection against open connections."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [r["clients"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(clients, [r["p50_ms"] for r in rows], marker="o", label="p50 hold→event")
    ax.plot(clients, [r["p99_ms"] for r in rows], marker="o", label="p99 hold→event")
    ax.axhline(100, color="grey", linestyle=":", linewidth=1, label="p99 target (100 ms)")
    ax.set_xlabel("open SSE connections (one gateway process)")
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.3)
    memory = ax.twinx()
    memory.plot(clients, [r["kb_per_connection"] for r in rows], color="tab:green", marker="s", linestyle="--")
    memory.set_ylabel("server kB per idle connection", color="tab:green")
    memory.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    ax.set_title("Fan-out: hold → event latency by connections")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
