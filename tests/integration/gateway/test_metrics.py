"""``GET /metrics``: Prometheus text whose counts move with holds, confirms, conflicts and live events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import Settings
from tests.support import Clinic, patient
from tests.support_live import LiveStream, Recorder, eventually, gateways, hold, patient_headers

Client = AsyncTestClient[Litestar]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Client | httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


async def test_hold_confirm_and_conflict_move_their_counters(client: Client, clinic: Clinic) -> None:
    hub = client.app.state.services.hub

    # The hub hears only the doctors followed in its process: follow this one, as a live page would.
    # The test client runs the app in a loop of its own; the stream must live in that one.
    app_loop = hub.loop

    async def follow() -> Recorder:
        recorder = Recorder(hub, client.app.state.services.replay)
        recorder.follow(clinic.doctor_id)
        return recorder

    follower = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(follow(), app_loop))

    async def subscribed() -> bool:
        # The app waits at most 2 s for the subscription at start; under load it can take longer,
        # and an event published before it is live is (rightly) never "received" on pub/sub.
        return bool(hub.listening(clinic.doctor_id))

    await eventually(subscribed)
    before = await scrape(client)
    ada, bob = await patient(client, clinic), await patient(client, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(2, 10)}
    r = await client.post("/v1/holds", json=body, headers=ada)
    assert r.status_code == 201, r.text
    held = r.json()
    lost = await client.post("/v1/holds", json=body, headers=bob)
    assert lost.status_code == 409
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Ada", "email": "ada@example.org"}},
        headers={"X-Hold-Token": held["hold_token"]} | ada,
    )
    assert r.status_code == 201, r.text

    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("gateway_holds_total", outcome="held") == 1
    assert moved("gateway_holds_total", outcome="slot_taken") == 1
    assert moved("gateway_conflicts_total", action="hold") == 1
    assert moved("gateway_confirms_total", outcome="booked") == 1
    assert moved("gateway_request_duration_seconds_count", method="POST", route="/v1/holds", status="201") == 1
    assert moved("gateway_request_duration_seconds_count", method="POST", route="/v1/holds", status="409") == 1
    confirm_route = "/v1/holds/{hold_id}/confirm"  # the route template, not the path
    assert moved("gateway_request_duration_seconds_count", method="POST", route=confirm_route, status="201") == 1

    async def heard() -> bool:  # the hub hears the hold's and the confirm's events on pub/sub
        return (
            value(await scrape(client), "gateway_events_received_total")
            >= value(before, "gateway_events_received_total") + 2
        )

    await eventually(heard)
    app_loop.call_soon_threadsafe(follower.close)


async def test_live_connections_and_delivered_events_on_a_served_gateway(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    with gateways(settings, str(tmp_path)) as (server,):
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            before = await scrape(http)
            assert value(before, "gateway_live_connections", transport="sse") == 0
            url = f"{server.url}/v1/doctors/{clinic.doctor_id}/events"
            async with LiveStream(url) as first, LiveStream(url) as second:
                now = await scrape(http)
                assert value(now, "gateway_live_connections", transport="sse") == 2
                await hold(http, clinic, clinic.at(2, 11), await patient_headers(http, clinic))
                await first.next()
                await second.next()
                after = await scrape(http)
            delivered = value(after, "gateway_events_delivered_total") - value(before, "gateway_events_delivered_total")
            assert delivered == 2
            assert value(after, "gateway_live_clients_dropped_total") == 0  # both keep up
            assert (
                value(after, "gateway_holds_total", outcome="held")
                == value(before, "gateway_holds_total", outcome="held") + 1
            )

            async def closed() -> bool:  # a departed client is noticed within a second or so
                return value(await scrape(http), "gateway_live_connections", transport="sse") == 0

            await eventually(closed)
