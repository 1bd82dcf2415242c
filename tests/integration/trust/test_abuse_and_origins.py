"""Rate limits shared through Redis, and CORS per organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Rate, Settings, TrustSettings
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[tuple[Client, Client]]:
    """Two apps (two "processes") on one Redis with tight limits."""
    tight = msgspec.structs.replace(
        settings,
        rate_limits=True,
        trust=TrustSettings(
            holds_per_patient=Rate(3, 60),
            holds_per_address=Rate(5, 60),
            sessions_per_address=Rate(50, 60),
            live_holds_per_patient=100,  # the rates are the point here (live holds: test_booking_abuse.py)
        ),
    )
    async with (
        AsyncTestClient(app=create_app(tight), timeout=30) as one,
        AsyncTestClient(app=create_app(tight), timeout=30) as two,
    ):
        yield one, two


async def test_holds_per_patient_are_limited_across_processes_with_retry_after(
    limited: tuple[Client, Client], admin: dict[str, str]
) -> None:
    one, two = limited
    clinic = await make_clinic(one, admin)
    me = await patient(one, clinic)

    async def hold(client: Client, hour: int, minute: int = 0) -> int:
        r = await client.post(
            "/v1/holds",
            json={
                "doctor_id": clinic.doctor_id,
                "appointment_type_id": clinic.type_30,
                "start": clinic.at(3, hour, minute),
            },
            headers=me,
        )
        if r.status_code == 429:
            assert r.json()["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
        return r.status_code

    assert [await hold(one, 9), await hold(two, 10), await hold(one, 11)] == [201, 201, 201]
    assert await hold(two, 12) == 429  # the fourth, through the other process
    # another patient from the same address still has room until the address limit (5)
    other = await patient(one, clinic)
    statuses = []
    for hour in (13, 14, 15):
        r = await one.post(
            "/v1/holds",
            json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, hour)},
            headers=other,
        )
        statuses.append(r.status_code)
    assert statuses == [201, 201, 429]


async def test_rate_limits_off_lets_a_swarm_through(client: Client, clinic: Clinic) -> None:
    me = await patient(client, clinic)
    for n in range(30):  # well past the default 20 per minute; `settings` has rate limits off
        r = await client.post(
            "/v1/holds",
            json={
                "doctor_id": clinic.doctor_id,
                "appointment_type_id": clinic.type_30,
                "start": clinic.at(3 + n // 20, 8 + (n % 20) // 2, 30 * (n % 2)),
            },
            headers=me,
        )
        assert r.status_code == 201, r.text


async def test_cors_allows_only_the_organisations_listed_origins(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    other = await make_clinic(client, admin)
    partner, stranger, others_partner = "https://partner.example", "https://evil.example", "https://other.example"
    for c, origin in ((clinic, partner), (other, others_partner)):
        r = await client.patch(
            f"/v1/admin/organisations/{c.organisation_id}", json={"allowed_origins": [origin]}, headers=admin
        )
        assert r.status_code == 200 and r.json()["allowed_origins"] == [origin]

    def preflight(origin: str) -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }

    ok = await client.options("/v1/holds", headers=preflight(partner))
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == partner
    assert "X-Hold-Token" in ok.headers["access-control-allow-headers"]
    refused = await client.options("/v1/holds", headers=preflight(stranger))
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers

    me = await patient(client, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)}
    r = await client.post("/v1/holds", json=body, headers={**me, "Origin": partner})
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == partner
    # an origin another organisation allowed may not book here
    body["start"] = clinic.at(3, 11)
    r = await client.post("/v1/holds", json=body, headers={**me, "Origin": others_partner})
    assert r.status_code == 403
    assert r.json()["code"] == "origin_not_allowed"
    r = await client.post("/v1/holds", json=body, headers={**me, "Origin": stranger})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    # the gateway's own pages (no Origin, or its own) are never refused
    r = await client.post("/v1/holds", json=body, headers=me)
    assert r.status_code == 201


async def test_bad_origins_are_refused(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    for origins in (["partner.example"], ["https://partner.example/path"], ["*"], ["javascript:alert(1)"]):
        r = await client.patch(
            f"/v1/admin/organisations/{clinic.organisation_id}", json={"allowed_origins": origins}, headers=admin
        )
        assert r.status_code == 422, origins
