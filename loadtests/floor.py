"""What one idle SSE connection and one event to N clients cost *before* any gateway code runs.

    python -m loadtests.floor [--clients 5000] [--events 30] [--only direct,litestar,sse_starlette]

``make bench`` measures the gateway. This measures the floor under it on the same machine, with
the same raw-socket clients (``loadtests/sseclients.py``), so a target can be judged against
what the parts allow. Each variant is a tiny ASGI app served by uvicorn (uvloop, httptools) in
its own process; ``POST /fire`` sends one event (with ``ts``) to every open stream:

- ``direct``: no framework; the event is written straight to each connection's transport in one
  loop (uvicorn's transport, chunked by hand). The least any Python server here can do.
- ``hub_send``: no framework; the firing code calls each open stream's ASGI ``send`` itself with
  the shared message, in one loop, stepping the coroutine by hand (a send that suspends is
  finished by a task); each stream's own coroutine only waits for the client to leave. What the
  gateway's hub does (``broadcast/stream.py``), through the public ASGI interface only.
- ``hub_send_litestar``: as ``hub_send``, behind a Litestar route returning the ASGI app.
- ``asgi``: no framework; one coroutine per stream, woken per event, ``await send(...)``.
- ``litestar``: as ``asgi``, behind a Litestar route returning the ASGI app (as the gateway does).
- ``sse_starlette``: as ``litestar``, the stream served by sse-starlette's ``EventSourceResponse``
  (pings every 15 s, a send timeout), fed by an async generator: the gateway's stack.

Prints one row per variant: clients, kB per idle connection (RSS growth / clients), and the
p50 / p99 of fire -> arrival latency. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from loadtests.harness import free_port, percentile, raise_open_files, rss_kb
from loadtests.sseclients import SSEFleet

VARIANTS = ("direct", "hub_send", "hub_send_litestar", "asgi", "litestar", "sse_starlette")

# --- the apps (run in a child process: python -m uvicorn loadtests.floor:<variant> --factory) ---

_HEAD = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
_RETRY = {"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True}


def _event() -> bytes:
    payload = json.dumps({"type": "slot.held", "ts": int(time.time() * 1000)}, separators=(",", ":")).encode()
    return b"event: slot.held\ndata: %s\n\n" % payload


class _Inbox:
    """One stream's pending frames and the future its coroutine sleeps on."""

    __slots__ = ("frames", "waiter")

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def push(self, frame: bytes) -> None:
        self.frames.append(frame)
        if not self.waiter.done():
            self.waiter.set_result(None)

    async def next(self) -> bytes:
        while not self.frames:
            await self.waiter
            self.waiter = asyncio.get_running_loop().create_future()
        out = b"".join(self.frames)
        self.frames.clear()
        return out


def _factory(variant: str) -> Any:
    transports: set[Any] = set()
    inboxes: set[_Inbox] = set()
    sends: set[Any] = set()
    pending: set[asyncio.Task[None]] = set()

    async def finish(steps: Any, waiting: Any) -> None:
        while True:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                waiting.add_done_callback(functools.partial(_wake, woken))
                await woken
            try:
                waiting = steps.send(None)
            except StopIteration:
                return

    async def fire(send: Any) -> None:
        frame = _event()
        if variant == "direct":
            chunk = b"%x\r\n%s\r\n" % (len(frame), frame)
            for transport in transports:
                transport.write(chunk)
        elif variant.startswith("hub_send"):
            message = {"type": "http.response.body", "body": frame, "more_body": True}
            for stream_send in sends:
                steps = stream_send(message).__await__()
                try:
                    waiting = steps.send(None)
                except StopIteration:
                    continue
                task = asyncio.create_task(finish(steps, waiting))
                pending.add(task)
                task.add_done_callback(pending.discard)
        else:
            for inbox in inboxes:
                inbox.push(frame)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def until_disconnect(receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def stream(scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            await fire(send)
            return
        if variant == "direct":
            await send(_HEAD)
            await send(_RETRY)
            transport = send.__self__.transport  # uvicorn's RequestResponseCycle.send
            transports.add(transport)
            try:
                await until_disconnect(receive)
            finally:
                transports.discard(transport)
            return
        if variant.startswith("hub_send"):
            await send(_HEAD)
            await send(_RETRY)
            sends.add(send)
            try:
                await until_disconnect(receive)
            finally:
                sends.discard(send)
            return
        inbox = _Inbox()
        inboxes.add(inbox)
        try:
            if variant == "sse_starlette":
                await _sse_starlette(inbox, scope, receive, send)
                return
            await send(_HEAD)
            await send(_RETRY)
            gone = asyncio.ensure_future(until_disconnect(receive))
            gone.add_done_callback(lambda _: inbox.push(b""))  # wakes the loop below to end
            try:
                while True:
                    frames = await inbox.next()
                    if gone.done():
                        break
                    await send({"type": "http.response.body", "body": frames, "more_body": True})
            finally:
                gone.cancel()
        finally:
            inboxes.discard(inbox)

    if variant in ("direct", "asgi", "hub_send"):
        return _plain(stream)
    return _litestar(stream)


def _wake(woken: asyncio.Future[None], _: Any) -> None:
    if not woken.done():
        woken.set_result(None)


async def _sse_starlette(inbox: _Inbox, scope: Any, receive: Any, send: Any) -> None:
    from sse_starlette import EventSourceResponse

    async def frames() -> AsyncIterator[bytes]:
        yield b"retry: 1000\n\n"
        while True:
            yield await inbox.next()

    await EventSourceResponse(frames(), ping=15, sep="\n", send_timeout=10)(scope, receive, send)


def _plain(stream: Any) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await stream(scope, receive, send)

    return app


def _litestar(stream: Any) -> Any:
    from litestar import Litestar, get, post
    from litestar.types import ASGIApp

    @get("/v1/doctors/{doctor:str}/events", media_type="text/event-stream", sync_to_thread=False)
    def events(doctor: str) -> ASGIApp:
        return stream  # type: ignore[no-any-return]

    @post("/fire", sync_to_thread=False)
    def fire() -> ASGIApp:
        return stream  # type: ignore[no-any-return]

    return Litestar([events, fire], openapi_config=None)


def direct() -> Any:
    return _factory("direct")


def hub_send() -> Any:
    return _factory("hub_send")


def hub_send_litestar() -> Any:
    return _factory("hub_send_litestar")


def asgi() -> Any:
    return _factory("asgi")


def litestar() -> Any:
    return _factory("litestar")


def sse_starlette() -> Any:
    return _factory("sse_starlette")


# --- the measurement -------------------------------------------------------------------------


def measure(variant: str, clients: int, events: int, processes: int) -> dict[str, float]:
    """Serve ``variant``, open ``clients`` streams, fire ``events`` events; the row."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", f"loadtests.floor:{variant}", "--factory", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--log-level", "warning", "--backlog", "4096"]
    command += ["--timeout-graceful-shutdown", "2"]
    server = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{url}/fire", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(0.5)
        base = rss_kb(server.pid)
        fleet = SSEFleet(url, "floor", processes=processes)
        try:
            _, failed, alive, errors = fleet.open(clients)
            if failed:
                print(f"  {variant}: {failed} connections failed: {errors}", flush=True)
            time.sleep(1.0)
            kb = (rss_kb(server.pid) - base) / max(alive, 1)
            fleet.reset()
            interval = max(0.25, alive / 10_000)
            for _ in range(events):
                httpx.post(f"{url}/fire", timeout=30)
                time.sleep(interval)
            time.sleep(1.0)
            latencies, _ = fleet.collect()
        finally:
            fleet.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {
        "clients": float(alive),
        "kb_per_connection": kb,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "delivered": len(latencies) / max(1, events * alive),
    }


def floor_rows(clients: int, events: int, processes: int, variants: tuple[str, ...] = VARIANTS) -> list[dict[str, Any]]:
    """Every variant measured in turn (what ``make bench`` reports beside the gateway's fan-out)."""
    rows = []
    for variant in variants:
        row: dict[str, Any] = {"variant": variant, **measure(variant, clients, events, processes)}
        print(
            f"  floor {variant:<18} {row['clients']:>6,.0f} clients: p50 {row['p50_ms']:7.1f} ms  "
            f"p99 {row['p99_ms']:7.1f} ms  {row['kb_per_connection']:5.1f} kB/conn  delivered {row['delivered']:.3f}",
            flush=True,
        )
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--only", help=f"comma-separated variants of {','.join(VARIANTS)}")
    args = parser.parse_args()
    raise_open_files(args.clients * 2 + 4096)
    chosen = args.only.split(",") if args.only else list(VARIANTS)
    print(f"{'variant':<14} {'clients':>8} {'kB/conn':>8} {'p50 ms':>8} {'p99 ms':>8} {'delivered':>10}")
    for variant in chosen:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
        row = measure(variant, args.clients, args.events, args.client_processes)
        print(
            f"{variant:<14} {row['clients']:>8,.0f} {row['kb_per_connection']:>8.1f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['delivered']:>10.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
