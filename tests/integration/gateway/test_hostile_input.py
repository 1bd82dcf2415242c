"""Input an attacker would send: each used to be a 500, each is now a 4xx (or a clear 503) with a stable code."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import asyncpg
import httpx
import jwt
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.integration.trust.test_partner_tokens import mint, new_secret, org_admin, try_hold
from tests.support import Clinic, patient, start_server

Client = AsyncTestClient[Litestar]


async def held(client: Client, clinic: Clinic) -> tuple[dict[str, str], dict[str, str], str, httpx.Response]:
    """A new patient's hold: their headers, the hold's token header, its URL and the answer."""
    me = await patient(client, clinic)
    hold = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)},
        headers=me,
    )
    return me, {"X-Hold-Token": hold.json()["hold_token"]}, f"/v1/holds/{hold.json()['hold_id']}", hold


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["title"] and body["detail"]
    return body


async def test_nul_in_json_strings_is_refused_and_nothing_is_written(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    doctors = f"/v1/organisations/{clinic.organisation_id}/doctors"
    before = (await client.get(doctors, headers=admin)).json()
    body = {"organisation_id": clinic.organisation_id, "name": "Dr\u0000Evil", "timezone": "Europe/Berlin"}
    problem(await client.post("/v1/admin/doctors", json=body, headers=admin), 422, "invalid_text")
    assert (await client.get(doctors, headers=admin)).json() == before
    problem(await client.post("/v1/sessions", json={"organisation_slug": "a\u0000b"}), 422, "invalid_text")
    # a NUL in a key is refused as well, wherever it sits
    problem(await client.post("/v1/sessions", json={"x\u0000": [{"y": "z"}]}), 422, "invalid_text")


async def test_nul_in_a_patient_name_leaves_the_hold_held(client: Client, clinic: Clinic) -> None:
    me, token, url, _ = await held(client, clinic)
    bad = {"patient": {"name": "A\u0000", "email": "a@example.org"}}
    problem(await client.post(f"{url}/confirm", json=bad, headers=me | token), 422, "invalid_text")
    assert (await client.get(url, headers=token)).json()["status"] == "held"


async def test_nul_in_query_and_path_parameters(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    problem(await client.get("/v1/appointments", params={"patient": "p\u0000"}, headers=admin), 422, "invalid_text")
    secrets = f"/v1/organisations/{clinic.organisation_id}/booking-secrets"
    problem(await client.get(f"{secrets}/bk%00x", headers=admin), 422, "invalid_text")


async def test_nul_in_a_token_kid_or_sub(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    forged = jwt.encode({"sub": "p", "exp": 4102444800}, "k" * 40, algorithm="HS256", headers={"kid": "bk_\u0000"})
    problem(await client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401, "token_unknown_key")
    key_id, secret = await new_secret(client, clinic, await org_admin(client, clinic, admin))
    problem(await try_hold(client, clinic, mint(key_id, secret, sub="p\u0000")), 401, "token_invalid")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "9999-12-30T00:00:00Z"},
        {"from": "9999-12-31T23:59:59Z"},
        {"from": "0001-01-01T00:00:00Z"},
        {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"},
        {"from": "2030-01-01T00:00:00Z", "to": "9999-12-31T23:00:00-05:00"},  # year 10000 in UTC
    ],
)
async def test_instants_at_the_calendars_edges_in_slots(client: Client, clinic: Clinic, params: dict[str, str]) -> None:
    url = f"/v1/doctors/{clinic.doctor_id}/slots"
    r = await client.get(url, params={"appointment_type_id": clinic.type_30} | params)
    problem(r, 422, "instant_out_of_range")


async def test_a_hold_at_the_end_of_the_calendar(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": "9999-12-31T10:00:00Z"}
    problem(
        await client.post("/v1/holds", json=body, headers=await patient(client, clinic)), 422, "instant_out_of_range"
    )
    problem(
        await client.post("/v1/holds", json=body | {"override_notice": True}, headers=admin),
        422,
        "instant_out_of_range",
    )


@pytest.mark.parametrize(
    "moment", ["+10000-01-01T00:00:00+00:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "2030-01-01"]
)
async def test_cursors_holding_impossible_instants(client: Client, admin: dict[str, str], moment: str) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps([moment, str(uuid.uuid4())]).encode()).decode().rstrip("=")
    r = await client.get("/v1/appointments", params={"cursor": cursor}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("invalid_cursor", "instant_out_of_range")


async def test_appointment_lists_at_the_calendars_edges(client: Client, admin: dict[str, str]) -> None:
    for bound in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"):
        r = await client.get("/v1/appointments", params={"from": bound}, headers=admin)
        problem(r, 422, "instant_out_of_range")


async def test_json_nested_100000_deep(client: Client, clinic: Clinic) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    headers = await patient(client, clinic) | {"content-type": "application/json"}
    problem(await client.post("/v1/holds", content=deep, headers=headers), 400, "invalid_json")
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    problem(await client.post("/v1/sessions", content=deep_object, headers=headers), 400, "invalid_json")


@pytest.mark.parametrize("path", ["/static/book/%00", "/static/common/x%00.js", "/static/admin/%00/x"])
async def test_nul_in_a_static_path(client: Client, path: str) -> None:
    problem(await client.get(path), 404, "not_found")


async def test_a_changed_secret_key_is_a_clear_503_not_a_500(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    staff = await org_admin(client, clinic, admin)
    key_id, secret = await new_secret(client, clinic, staff)
    token = mint(key_id, secret)
    assert (await try_hold(client, clinic, token)).status_code == 201
    rotated = create_app(msgspec.structs.replace(settings, secret_key="another-secret-key-of-the-operator-32b"))
    async with AsyncTestClient(app=rotated, timeout=30) as other:
        reveal = await other.get(f"/v1/organisations/{clinic.organisation_id}/booking-secrets/{key_id}", headers=staff)
        problem(reveal, 503, "secret_unreadable")
        problem(await try_hold(other, clinic, token, hour=11), 503, "secret_unreadable")


async def test_a_confirm_that_fails_unexpectedly_gives_the_hold_back(
    client: Client, clinic: Clinic, settings: Settings, database_url: str
) -> None:
    # Something no handler maps (here a constraint the gateway knows nothing about) fails the INSERT.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f'ALTER TABLE "{settings.database.schema}".appointments'
            " ADD CONSTRAINT no_boom CHECK (patient_name IS DISTINCT FROM 'boom')"
        )
    finally:
        await conn.close()
    me, token, url, hold = await held(client, clinic)
    failed = await client.post(
        f"{url}/confirm", json={"patient": {"name": "boom", "email": "a@example.org"}}, headers=me | token
    )
    assert failed.status_code == 500
    back = (await client.get(url, headers=token)).json()
    assert back["status"] == "held"
    # with the time it had left (the type's 15 minutes), not the confirm's 30 s of grace
    assert back["expires_at"] == hold.json()["expires_at"]
    ok = await client.post(
        f"{url}/confirm", json={"patient": {"name": "Ann", "email": "a@example.org"}}, headers=me | token
    )
    assert ok.status_code == 201, ok.text


async def test_healthz_names_the_failing_dependency_only(settings: Settings) -> None:
    broken = msgspec.structs.replace(
        settings, redis=msgspec.structs.replace(settings.redis, url="redis://no-such-user:s3cret@127.0.0.1:1/0")
    )
    async with AsyncTestClient(app=create_app(broken), timeout=30) as c:
        r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"postgres": "ok", "redis": "unavailable"}
    assert "s3cret" not in r.text and "Error" not in r.text and "127.0.0.1" not in r.text


async def test_secrets_and_tokens_are_never_cached(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    org = clinic.organisation_id
    answers = [
        await client.post(f"/v1/admin/organisations/{org}/api-keys", headers=admin),
        await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin),
        await client.post(f"/v1/organisations/{org}/booking-secrets", headers=admin),
        await client.post("/v1/sessions", json={"organisation_slug": clinic.slug}),
    ]
    key_id = answers[2].json()["key_id"]
    answers.append(await client.get(f"/v1/organisations/{org}/booking-secrets/{key_id}", headers=admin))
    hold = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 10)},
        headers=await patient(client, clinic),
    )
    answers.append(hold)
    for r in answers:
        assert r.status_code in (200, 201), r.text
        assert "no-store" in r.headers.get("cache-control", ""), r.request.url


async def test_metrics_can_be_closed_to_all_but_a_token(settings: Settings) -> None:
    closed = msgspec.structs.replace(settings, metrics_token="metrics-scraper-token")
    async with AsyncTestClient(app=create_app(closed), timeout=30) as c:
        problem(await c.get("/metrics"), 403, "forbidden")  # the test client is not on loopback
        problem(await c.get("/metrics", headers={"Authorization": "Bearer wrong"}), 403, "forbidden")
        r = await c.get("/metrics", headers={"Authorization": "Bearer metrics-scraper-token"})
        assert r.status_code == 200 and "gateway_holds_total" in r.text


def test_closed_metrics_still_answer_loopback(settings: Settings, tmp_path: Any) -> None:
    server = start_server(settings, str(tmp_path), {"GATEWAY_METRICS_TOKEN": "metrics-scraper-token"})
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 200  # a scraper on the same host
    finally:
        server.stop()
