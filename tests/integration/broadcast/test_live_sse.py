"""Server-Sent Events from a served gateway: the events, their order, replay, resync, several doctors."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from broadcast import cursor
from gateway.settings import Settings
from holds.engine import HoldEngine
from holds.keys import Keys
from tests.support import Clinic, make_clinic, no_bookings
from tests.support_live import (
    LiveStream,
    events_url,
    gateways,
    hold,
    patient_headers,
    problems_in,
    release,
    seq_now,
    slot_starts,
)

Client = AsyncTestClient[Litestar]


async def test_hold_release_confirm_and_expiry_each_publish_exactly_one_event(
    settings: Settings, clinic: Clinic, redis: Redis, tmp_path: Path
) -> None:
    keys = Keys(settings.redis.prefix)
    base = await seq_now(settings, clinic.doctor_id)  # making the clinic announced a few resyncs
    published: list[dict[str, Any]] = []
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.channel(clinic.doctor_id))

    with gateways(settings, str(tmp_path)) as (server,):
        async with (
            LiveStream(events_url(server, clinic)) as stream,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            first, second, third = slot_starts(clinic, 3)
            held = await hold(http, clinic, first)
            await release(http, held)
            ada = await patient_headers(http, clinic)
            held = await hold(http, clinic, second, ada)
            r = await http.post(
                f"/v1/holds/{held['hold_id']}/confirm",
                json={"patient": {"name": "Ada", "email": "ada@example.org"}},
                headers={"X-Hold-Token": held["hold_token"]} | ada,
            )
            assert r.status_code == 201, r.text
            # a hold that lapses with nobody touching it: the gateway's sweeper announces it
            engine = HoldEngine(redis, keys, no_bookings, log_max=settings.booking.replay_log_size)
            start = datetime.fromisoformat(third)
            new = await engine.hold(
                doctor_id=uuid.UUID(clinic.doctor_id),
                appointment_type_id=uuid.UUID(clinic.type_30),
                start=start,
                end=start + timedelta(minutes=30),
                blocked_until=start + timedelta(minutes=30),
                ttl_ms=300,
            )
            assert new is not None
            got = await stream.take(6)

    kinds = ["slot.held", "slot.released", "slot.held", "slot.booked", "slot.held", "slot.released"]
    assert [(e.event, e.seq, e.id) for e in got] == [
        (kind, base + n, str(base + n)) for n, kind in enumerate(kinds, start=1)
    ]
    assert [e.data["start"] for e in got] == [first, first, second, second, third, third]
    for e in got:
        assert e.data["type"] == e.event and e.data["doctor_id"] == clinic.doctor_id
        assert isinstance(e.data["ts"], int) and e.data["ts"] > 1_700_000_000_000
    # on the channel itself: one message per change, no duplicate that the stream hid
    async with asyncio.timeout(5):
        while len(published) < 6:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                published.append(message)
    assert [json.loads(m["data"])["seq"] for m in published] == list(range(base + 1, base + 7))
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    await pubsub.aclose()
    assert not problems_in(server)


async def test_stream_headers_keepalive_and_problems_before_the_stream(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    with gateways(settings, str(tmp_path), extra_env={"GATEWAY_SSE_PING_SECONDS": "0.2"}) as (server,):
        async with LiveStream(events_url(server, clinic)) as stream:
            assert stream.response_headers is not None
            assert stream.response_headers["content-type"].startswith("text/event-stream")
            assert stream.response_headers["cache-control"] == "no-cache"
            assert stream.response_headers["x-accel-buffering"] == "no"
            async with asyncio.timeout(5):
                await stream.commented.wait()
            assert stream.comments[0].startswith("ping")
        async with httpx.AsyncClient(base_url=server.url) as http:
            # HEAD: the stream's head, no stream (the answer ends at once)
            for url in (events_url(server, clinic), f"{server.url}/v1/events?doctor_id={clinic.doctor_id}"):
                head = await http.head(url, timeout=5)
                assert head.status_code == 200
                assert head.headers["content-type"].startswith("text/event-stream")
                assert head.content == b""
            assert (await http.head(f"/v1/doctors/{uuid.uuid4()}/events")).status_code == 404
            unknown = await http.get(f"/v1/doctors/{uuid.uuid4()}/events")
            assert unknown.status_code == 404
            assert unknown.headers["content-type"].startswith("application/problem+json")
            assert unknown.json()["code"] == "not_found"
            several = await http.get("/v1/events", params={"doctor_id": [clinic.doctor_id, str(uuid.uuid4())]})
            assert several.status_code == 404
            for bad in ("abc", "-1", "1.5"):
                r = await http.get(f"/v1/doctors/{clinic.doctor_id}/events", params={"after": bad})
                assert r.status_code == 422, bad
                assert r.json()["code"] == "validation_error"
            r = await http.get("/v1/events", params={"doctor_id": clinic.doctor_id, "after": "42"})
            assert r.status_code == 422
            r = await http.get("/v1/events")
            assert r.status_code == 422
            r = await http.get("/v1/events", params={"doctor_id": "not-a-uuid"})
            assert r.status_code == 422


async def test_after_and_last_event_id_replay_exactly_what_was_missed(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    base = await seq_now(settings, clinic.doctor_id)
    starts = slot_starts(clinic, 7)
    with gateways(settings, str(tmp_path)) as (server,):
        async with httpx.AsyncClient(base_url=server.url) as http:
            for start in starts[:4]:
                await hold(http, clinic, start)
            async with LiveStream(events_url(server, clinic, f"?after={base + 1}")) as stream:
                replayed = await stream.take(3)
                assert [e.seq for e in replayed] == [base + 2, base + 3, base + 4]
                await hold(http, clinic, starts[4])
                live = await stream.next()
                assert live.seq == base + 5  # live follows the replay with no gap and no repeat
            # a reconnecting browser sends Last-Event-ID to the URL it first opened: the header wins
            headers = {"Last-Event-ID": str(base + 3)}
            async with LiveStream(events_url(server, clinic, f"?after={base}"), headers) as stream:
                assert [e.seq for e in await stream.take(2)] == [base + 4, base + 5]
            async with LiveStream(events_url(server, clinic, f"?after={base + 5}")) as stream:
                await hold(http, clinic, starts[5])
                assert (await stream.next()).seq == base + 6
                assert stream.events.empty()
            # a booking page fetches the slots (with the seq they reflect), then listens after that seq
            day = datetime.fromisoformat(starts[6])
            slots = await http.get(
                f"/v1/doctors/{clinic.doctor_id}/slots",
                params={
                    "appointment_type_id": clinic.type_30,
                    "from": (day - timedelta(days=1)).isoformat(),
                    "to": (day + timedelta(days=1)).isoformat(),
                },
            )
            seq = slots.json()["seq"]
            assert seq == base + 6
            await hold(http, clinic, starts[6])  # lands between the fetch and the stream
            async with LiveStream(events_url(server, clinic, f"?after={seq}")) as stream:
                event = await stream.next()
            assert (event.seq, event.data["start"]) == (seq + 1, starts[6])


async def test_resync_when_the_log_was_trimmed_or_redis_forgot(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    base = await seq_now(settings, clinic.doctor_id)
    starts = slot_starts(clinic, 7)
    with gateways(settings, str(tmp_path), extra_env={"GATEWAY_REPLAY_LOG_SIZE": "3"}) as (server,):
        async with httpx.AsyncClient(base_url=server.url) as http:
            for start in starts[:6]:
                await hold(http, clinic, start)
            async with LiveStream(events_url(server, clinic, f"?after={base + 3}")) as stream:
                # the log (3 entries) still reaches back
                assert [e.seq for e in await stream.take(3)] == [base + 4, base + 5, base + 6]
            async with LiveStream(events_url(server, clinic, f"?after={base + 1}")) as stream:
                resync = await stream.next()
                assert (resync.event, resync.id) == ("resync", str(base + 6))
                assert resync.data["type"] == "resync" and resync.data["doctor_id"] == clinic.doctor_id
                assert resync.data["seq"] == base + 6 and resync.data["ts"] > 1_700_000_000_000
                assert "start" not in resync.data
                await hold(http, clinic, starts[6])
                assert (await stream.next()).seq == base + 7  # and live after it
            async with LiveStream(events_url(server, clinic, f"?after={base + 99}")) as stream:
                resync = await stream.next()  # ahead of Redis: it lost its memory
                assert (resync.event, resync.seq) == ("resync", base + 7)


async def test_one_stream_for_several_doctors_resumes_all_with_one_cursor(
    settings: Settings, client: Client, admin: dict[str, str], clinic: Clinic, tmp_path: Path
) -> None:
    other = await make_clinic(client, admin)
    a, b = clinic.doctor_id, other.doctor_id
    base_a, base_b = await seq_now(settings, a), await seq_now(settings, b)
    with gateways(settings, str(tmp_path)) as (server,):
        url = f"{server.url}/v1/events?doctor_id={a}&doctor_id={b}"
        async with httpx.AsyncClient(base_url=server.url) as http:
            await hold(http, clinic, slot_starts(clinic, 1)[0])  # before the stream: not replayed
            async with LiveStream(url) as stream:
                await hold(http, clinic, slot_starts(clinic, 2)[1])
                await hold(http, other, slot_starts(other, 1)[0])
                got = await stream.take(2)
            assert [(e.data["doctor_id"], e.seq) for e in got] == [(a, base_a + 2), (b, base_b + 1)]
            assert got[-1].id is not None
            assert cursor.decode(got[-1].id) == {a: base_a + 2, b: base_b + 1}
            # missed while away: one per doctor; the cursor resumes both
            await hold(http, other, slot_starts(other, 2)[1])
            await hold(http, clinic, slot_starts(clinic, 3)[2])
            async with LiveStream(url, {"Last-Event-ID": got[-1].id}) as stream:
                resumed = await stream.take(2)
            assert sorted((e.data["doctor_id"], e.seq) for e in resumed) == sorted([(a, base_a + 3), (b, base_b + 2)])
            assert cursor.decode(resumed[-1].id or "") == {a: base_a + 3, b: base_b + 2}
