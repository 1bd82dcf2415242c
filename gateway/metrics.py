"""Prometheus metrics: ``GET /metrics`` and the small ASGI middleware that times requests.

What is counted, and where:

* ``gateway_holds_total{outcome}`` / ``gateway_confirms_total{outcome}``: every hold and confirm,
  ``outcome`` = ``held`` / ``booked`` or the error ``code`` (``slot_taken``, ``not_bookable``,
  ``hold_expired``, ...), counted around :class:`~gateway.booking.service.BookingService`;
* ``gateway_conflicts_total{action}``: the ``slot_taken`` answers among them (lost races);
* ``gateway_events_received_total`` / ``gateway_events_delivered_total``: slot events the hub
  got from Redis pub/sub, and handed to local SSE/WebSocket clients (one per client), read from
  the hub's own counters when scraped (plain integers: nothing on the fan-out path);
* ``gateway_live_connections{transport}``: open SSE and WebSocket connections;
* ``gateway_request_duration_seconds{method,route,status}``: every HTTP request but event
  streams (their "duration" is the client's visit), by route template;
* ``gateway_gc_pause_seconds{generation}``: garbage collector pauses (they stall fan-out).

Several uvicorn workers: each process has its own registry, and a scrape reaches whichever
process accepts it. Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (before the workers
start) for prometheus-client's multiprocess mode: counters, gauges and histograms are then
summed over the workers; the hub's event counts still come from the answering process only.
"""

from __future__ import annotations

import bisect
import functools
import gc
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from litestar import Response, get
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway import logs
from gateway.errors import Forbidden, GatewayError

if TYPE_CHECKING:
    from broadcast.hub import Hub

P = ParamSpec("P")
T = TypeVar("T")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HOLDS = Counter("gateway_holds", "Holds asked for, by outcome: held, or the error code", ["outcome"])
CONFIRMS = Counter("gateway_confirms", "Confirms asked for, by outcome: booked, or the error code", ["outcome"])
CONFLICTS = Counter("gateway_conflicts", "slot_taken answers: holds and confirms that lost their slot", ["action"])
LIVE_CONNECTIONS = Gauge(
    "gateway_live_connections", "Open live connections", ["transport"], multiprocess_mode="livesum"
)
REQUEST_SECONDS = Histogram(
    "gateway_request_duration_seconds",
    "HTTP request latency (event streams left out), by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ABUSE_LIMITS = Counter(
    "gateway_abuse_limit",
    "Requests refused by an abuse limit; anonymous_confirms_per_organisation is worth an alert",
    ["limit"],
)
for _transport in ("sse", "ws"):
    LIVE_CONNECTIONS.labels(_transport)


def counted(
    counter: Counter, success: str, action: str
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Count each call of a coroutine function by outcome: ``success``, or the error's code.

    Args:
        counter: ``HOLDS`` or ``CONFIRMS``.
        success: the outcome label of a call that returns.
        action: the ``action`` label of a ``slot_taken`` conflict.
    """
    ok = counter.labels(success)
    conflicts = CONFLICTS.labels(action)

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                result = await fn(*args, **kwargs)
            except GatewayError as exc:
                counter.labels(exc.code).inc()
                if exc.code == "slot_taken":
                    conflicts.inc()
                raise
            except Exception:
                counter.labels("error").inc()
                raise
            ok.inc()
            return result

        return wrapper

    return decorate


class _HubCollector(Collector):
    """Reads the event counters of every hub of this process when scraped.

    A counter must never go down: when an app stops, its hub's counts move into ``retired``
    rather than vanishing with the hub.
    """

    def __init__(self) -> None:
        self.hubs: set[Hub] = set()
        self.retired_received = 0
        self.retired_delivered = 0
        self.retired_dropped = 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        hubs = list(self.hubs)
        received = CounterMetricFamily("gateway_events_received", "Slot events received from Redis by the hub")
        received.add_metric([], self.retired_received + sum(h.received for h in hubs))
        delivered = CounterMetricFamily(
            "gateway_events_delivered", "Slot events handed to local live clients (one per client)"
        )
        delivered.add_metric([], self.retired_delivered + sum(h.delivered for h in hubs))
        dropped = CounterMetricFamily(
            "gateway_live_clients_dropped", "Live clients dropped for falling too far behind or a stuck socket"
        )
        dropped.add_metric([], self.retired_dropped + sum(h.dropped for h in hubs))
        yield received
        yield delivered
        yield dropped


_hubs = _HubCollector()
REGISTRY.register(_hubs)


def watch(hub: Hub) -> None:
    """Report a hub's event counts (called when the app starts)."""
    _hubs.hubs.add(hub)


def retire(hub: Hub) -> None:
    """Keep a stopped hub's counts in the totals and stop watching it (called when the app stops)."""
    if hub in _hubs.hubs:
        _hubs.hubs.discard(hub)
        _hubs.retired_received += hub.received
        _hubs.retired_delivered += hub.delivered
        _hubs.retired_dropped += hub.dropped


GC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class _GcPauses(Collector):
    """Garbage collector pauses by generation, timed by a ``gc.callbacks`` hook.

    Plain integers, no prometheus-client metric: its locks are not reentrant, and a collection
    can start while any code (an ``observe`` included) holds one.
    """

    def __init__(self) -> None:
        self.counts = [[0] * (len(GC_BUCKETS) + 1) for _ in range(3)]
        self.sums = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if not self._started:
            return
        pause = time.perf_counter() - self._started
        generation = min(int(info.get("generation", 2)), 2)
        self.sums[generation] += pause
        self.counts[generation][bisect.bisect_left(GC_BUCKETS, pause)] += 1

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily("gateway_gc_pause_seconds", "Garbage collector pauses, by generation",
                                       labels=["generation"])  # fmt: skip
        for generation in range(3):
            cumulative, buckets = 0, []
            for bound, count in zip((*GC_BUCKETS, float("inf")), self.counts[generation], strict=True):
                cumulative += count
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family


_gc_pauses = _GcPauses()
gc.callbacks.append(_gc_pauses)
REGISTRY.register(_gc_pauses)


def metrics_access(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: with ``GATEWAY_METRICS_TOKEN`` set, only that bearer token or a loopback client."""
    expected: str | None = connection.app.state.settings.metrics_token
    if expected is None:
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
        return
    host = connection.client.host if connection.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise Forbidden("Metrics are for the operator: send GATEWAY_METRICS_TOKEN as a bearer token.")


@get("/metrics", include_in_schema=False, sync_to_thread=False, guards=[metrics_access])
def metrics_endpoint() -> Response[bytes]:
    """Every metric in Prometheus's text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(_hubs)
        registry.register(_gc_pauses)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE)


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: give each request its id (``gateway/logs.py``), time it until its
    response has been sent, and log one line for it (``gateway.access``, at info)."""

    def middleware(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Event streams are left out: they last as long as the client stays, and their frames
        # are the fan-out's hot path (a wrapped send costs every client of every event). They
        # are handed on without a frame of this middleware on their stack: a plain function
        # returning the inner app's awaitable (an idle stream's every byte counts). A stream
        # names its request id in its own head and line (gateway/logs.py: ``stream_opened``).
        if scope["type"] != ScopeType.HTTP or scope["path"].endswith("/events"):
            return app(scope, receive, send)
        return timed(scope, receive, send)

    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]  # type: ignore[typeddict-item]  # only HTTP scopes come here
        rid = logs.request_id_for(scope["headers"])
        logs.REQUEST_ID.set(rid)  # this request's task only: each request runs in a task of its own
        header = (logs.HEADER, rid.encode())
        status = 500
        began = time.perf_counter()

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), header],
                }  # never change a message in place: it may be shared
            await send(message)

        try:
            await app(scope, receive, timed_send)
        finally:
            elapsed = time.perf_counter() - began
            route = scope.get("path_template") or "unmatched"
            REQUEST_SECONDS.labels(method, route, str(status)).observe(elapsed)
            if logs.ACCESS.isEnabledFor(logging.INFO):
                path = scope["path"]
                logs.ACCESS.info(
                    "%s %s %d", method, path, status,
                    extra={"method": method, "path": path, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                )  # fmt: skip

    return middleware
