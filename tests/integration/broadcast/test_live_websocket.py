"""The WebSocket: subscribe and unsubscribe per doctor, the same event payloads, errors as frames."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from websockets.asyncio.client import ClientConnection, connect

from gateway.settings import Settings
from tests.support import Clinic, make_clinic
from tests.support_live import WAIT, gateways, hold, seq_now, slot_starts

Client = AsyncTestClient[Litestar]


async def frame(ws: ClientConnection, *, pings: bool = False) -> dict[str, Any]:
    """The next JSON frame (keepalive pings skipped unless asked for)."""
    async with asyncio.timeout(WAIT):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if pings or message.get("type") != "ping":
                return message


async def test_subscribe_replays_then_streams_and_unsubscribe_stops(
    settings: Settings, client: Client, admin: dict[str, str], clinic: Clinic, tmp_path: Path
) -> None:
    other = await make_clinic(client, admin)
    base, other_base = await seq_now(settings, clinic.doctor_id), await seq_now(settings, other.doctor_id)
    with gateways(settings, str(tmp_path)) as (server,):
        ws_url = server.url.replace("http://", "ws://") + "/v1/ws"
        async with httpx.AsyncClient(base_url=server.url) as http, connect(ws_url, proxy=None) as ws:
            await hold(http, clinic, slot_starts(clinic, 1)[0])
            await ws.send(json.dumps({"op": "subscribe", "doctor_id": clinic.doctor_id, "after": base}))
            assert await frame(ws) == {"type": "subscribed", "doctor_id": clinic.doctor_id, "seq": base + 1}
            replayed = await frame(ws)
            assert (replayed["type"], replayed["seq"]) == ("slot.held", base + 1)
            assert replayed["doctor_id"] == clinic.doctor_id
            assert set(replayed) == {"type", "doctor_id", "start", "end", "seq", "ts"}  # the SSE data object

            await ws.send(json.dumps({"op": "subscribe", "doctor_id": other.doctor_id}))
            assert await frame(ws) == {"type": "subscribed", "doctor_id": other.doctor_id, "seq": other_base}
            await hold(http, other, slot_starts(other, 1)[0])
            await hold(http, clinic, slot_starts(clinic, 2)[1])
            got = [await frame(ws), await frame(ws)]
            assert [(m["doctor_id"], m["seq"]) for m in got] == [
                (other.doctor_id, other_base + 1),
                (clinic.doctor_id, base + 2),
            ]

            await ws.send(json.dumps({"op": "unsubscribe", "doctor_id": clinic.doctor_id}))
            assert await frame(ws) == {"type": "unsubscribed", "doctor_id": clinic.doctor_id}
            await hold(http, clinic, slot_starts(clinic, 3)[2])  # no longer followed
            await hold(http, other, slot_starts(other, 2)[1])
            after_unsubscribe = await frame(ws)  # the first doctor's hold came first, and is not sent
            assert (after_unsubscribe["doctor_id"], after_unsubscribe["seq"]) == (other.doctor_id, other_base + 2)


async def test_bad_ops_get_error_frames_and_the_socket_stays_open(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    env = {"GATEWAY_SSE_PING_SECONDS": "0.3", "GATEWAY_LIVE_MAX_DOCTORS": "1"}
    with gateways(settings, str(tmp_path), extra_env=env) as (server,):
        ws_url = server.url.replace("http://", "ws://") + "/v1/ws"
        async with connect(ws_url, proxy=None) as ws:
            cases: list[tuple[str, str]] = [
                ("not json", "invalid_json"),
                (json.dumps({"op": "dance"}), "unknown_op"),
                (json.dumps({"nop": 1}), "validation_error"),
                (json.dumps({"op": "subscribe"}), "validation_error"),
                (json.dumps({"op": "subscribe", "doctor_id": "nope"}), "validation_error"),
                (json.dumps({"op": "subscribe", "doctor_id": clinic.doctor_id, "after": -1}), "validation_error"),
                (json.dumps({"op": "subscribe", "doctor_id": str(uuid.uuid4())}), "not_found"),
                (json.dumps({"op": "unsubscribe", "doctor_id": clinic.doctor_id}), "not_subscribed"),
            ]
            for sent, code in cases:
                await ws.send(sent)
                reply = await frame(ws)
                assert (reply["type"], reply["code"]) == ("error", code), (sent, reply)
                assert reply["detail"]
            await ws.send(json.dumps({"op": "subscribe", "doctor_id": clinic.doctor_id}))
            assert (await frame(ws))["type"] == "subscribed"
            await ws.send(json.dumps({"op": "subscribe", "doctor_id": str(uuid.uuid4())}))
            assert (await frame(ws))["code"] == "too_many_subscriptions"
            await ws.send(json.dumps({"op": "ping"}))
            assert await frame(ws) == {"type": "pong"}
            assert await frame(ws, pings=True) == {"type": "ping"}  # the server's keepalive when idle


async def test_a_socket_that_subscribes_too_fast_gets_error_frames_and_stays_open(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    limited = msgspec.structs.replace(settings, rate_limits=True)
    env = {"GATEWAY_LIVE_SUBSCRIBES_PER_MINUTE": "3"}
    with gateways(limited, str(tmp_path), extra_env=env) as (server,):
        ws_url = server.url.replace("http://", "ws://") + "/v1/ws"
        async with connect(ws_url, proxy=None) as ws:
            subscribe = json.dumps({"op": "subscribe", "doctor_id": clinic.doctor_id})
            for _ in range(3):  # the burst the bucket holds (a repeated subscribe is allowed)
                await ws.send(subscribe)
                assert (await frame(ws))["type"] == "subscribed"
            await ws.send(subscribe)
            refused = await frame(ws)
            assert (refused["type"], refused["code"]) == ("error", "too_many_subscribes")
            await ws.send(json.dumps({"op": "ping"}))
            assert await frame(ws) == {"type": "pong"}  # still open
