"""The process as operators run it: serve, health, OpenAPI, SIGTERM."""

from __future__ import annotations

import httpx

from tests.support import LiveServer


def test_served_process_reports_health_and_schema(live_server: LiveServer) -> None:
    health = httpx.get(f"{live_server.url}/healthz")
    assert health.status_code == 200
    assert health.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    schema = httpx.get(f"{live_server.url}/schema/openapi.json").json()
    for path in ("/v1/holds", "/v1/holds/{hold_id}/confirm", "/v1/doctors/{doctor_id}/slots"):
        assert path in schema["paths"], path
    assert live_server.stop() < 5
