"""One client address holds a bounded number of live streams per process (SSE and WebSocket)."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gateway.settings import Settings
from tests.support import Clinic
from tests.support_live import LiveStream, events_url, eventually, gateways

LIMIT = 3


async def test_an_address_holds_at_most_its_quota_of_streams_and_gets_them_back(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    limited = msgspec.structs.replace(settings, rate_limits=True)
    env = {"GATEWAY_LIVE_STREAMS_PER_ADDRESS": str(LIMIT)}
    with gateways(limited, str(tmp_path), extra_env=env) as (server,):
        url = events_url(server, clinic)
        ws_url = server.url.replace("http://", "ws://") + "/v1/ws"
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            async with LiveStream(url), LiveStream(url), connect(ws_url, proxy=None):
                over = await http.get(url)
                assert over.status_code == 429
                assert over.json()["code"] == "too_many_streams"
                assert over.headers["retry-after"] == "5"
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(ws_url, proxy=None):
                        pass
                assert refused.value.response.status_code == 403
                assert (await http.head(url)).status_code == 200  # HEAD opens no stream
            # the three ended: their places are free again (once the server noticed them leave)
            await eventually(lambda: _opens(http, url))


async def _opens(http: httpx.AsyncClient, url: str) -> bool:
    async with http.stream("GET", url) as response:
        return response.status_code == 200
