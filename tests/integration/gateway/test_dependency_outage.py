"""When Redis or Postgres is away: 503 naming which, never a 500; health says so too."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import free_port, make_clinic


async def test_redis_away_gives_503_with_the_dependency_named(settings: Settings, admin: dict[str, str]) -> None:
    # Set the clinic up while Redis answers, then talk to it through a gateway whose Redis is gone.
    async with AsyncTestClient(app=create_app(settings), timeout=30) as up:
        clinic = await make_clinic(up, admin)
        session = await up.post("/v1/sessions", json={"organisation_slug": clinic.slug})
    away = msgspec.structs.replace(
        settings, redis=msgspec.structs.replace(settings.redis, url=f"redis://127.0.0.1:{free_port()}/0")
    )
    async with AsyncTestClient(app=create_app(away), timeout=30) as down:
        health = await down.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["postgres"] == "ok" and health.json()["checks"]["redis"] != "ok"
        r = await down.post(
            "/v1/holds",
            json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)},
            headers={"Authorization": f"Bearer {session.json()['token']}"},
        )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable" and r.json()["dependency"] == "redis"
        assert r.headers["retry-after"] == "1"
        # what needs only Postgres still works
        assert (await down.get(f"/v1/doctors/{clinic.doctor_id}")).status_code == 200
