"""Partner booking tokens: JWT HS256 routed by kid, rotatable, instantly revocable."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.support import ADMIN_TOKEN, Clinic, make_clinic, start_server

Client = AsyncTestClient[Litestar]


async def org_admin(client: Client, clinic: Clinic, admin: dict[str, str]) -> dict[str, str]:
    r = await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["key"].startswith("gk_")
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def new_secret(client: Client, clinic: Clinic, headers: dict[str, str]) -> tuple[str, str]:
    r = await client.post(f"/v1/organisations/{clinic.organisation_id}/booking-secrets", headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["key_id"], r.json()["secret"]


def mint(key_id: str, secret: str, sub: str = "patient-42", lifetime: int = 600, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + lifetime} | claims
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256", headers={"kid": key_id}
    )


async def try_hold(client: Client, clinic: Clinic, token: str, hour: int = 10, type_id: str | None = None) -> Any:
    return await client.post(
        "/v1/holds",
        json={
            "doctor_id": clinic.doctor_id,
            "appointment_type_id": type_id or clinic.type_30,
            "start": clinic.at(3, hour),
        },
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_valid_partner_token_books_and_the_appointment_carries_its_sub(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    key_id, secret = await new_secret(client, clinic, await org_admin(client, clinic, admin))
    token = mint(key_id, secret, sub="crm-7781")
    r = await try_hold(client, clinic, token)
    assert r.status_code == 201, r.text
    confirm = await client.post(
        f"/v1/holds/{r.json()['hold_id']}/confirm",
        json={"patient": {"name": "Ann", "email": "ann@example.org"}},
        headers={"X-Hold-Token": r.json()["hold_token"], "Authorization": f"Bearer {token}"},
    )
    assert confirm.status_code == 201, confirm.text
    assert confirm.json()["appointment"]["patient"]["ref"] == "crm-7781"


def _forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return ".".join([part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)])


async def test_every_kind_of_bad_token_is_401_with_its_code(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    headers = await org_admin(client, clinic, admin)
    key_id, secret = await new_secret(client, clinic, headers)
    other = await make_clinic(client, admin)
    other_key, other_secret = await new_secret(client, other, await org_admin(client, other, admin))
    revoked_key, revoked_secret = await new_secret(client, clinic, headers)
    r = await client.delete(
        f"/v1/organisations/{clinic.organisation_id}/booking-secrets/{revoked_key}", headers=headers
    )
    assert r.status_code == 204
    now = int(time.time())
    good = mint(key_id, secret)
    head, payload, sig = good.split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(json.dumps({"sub": "someone-else", "iat": now, "exp": now + 600}).encode())
        .decode()
        .rstrip("=")
    )
    cases = {
        "alg none": (
            _forge({"alg": "none", "kid": key_id, "typ": "JWT"}, {"sub": "x", "exp": now + 60}),
            "token_algorithm",
        ),
        "HS512": (
            jwt.encode({"sub": "x", "exp": now + 60}, secret * 2, algorithm="HS512", headers={"kid": key_id}),
            "token_algorithm",
        ),
        "no kid": (jwt.encode({"sub": "x", "exp": now + 60}, secret, algorithm="HS256"), "token_invalid"),
        "unknown kid": (mint("bk_doesnotexist", secret), "token_unknown_key"),
        "revoked kid": (mint(revoked_key, revoked_secret), "token_revoked"),
        "wrong secret for kid": (mint(key_id, "not-the-secret-but-long-enough-0123456789"), "token_signature"),
        "other org's secret under our kid": (mint(key_id, other_secret), "token_signature"),
        "expired": (mint(key_id, secret, iat=now - 700, exp=now - 100), "token_expired"),
        "not yet valid": (mint(key_id, secret, nbf=now + 300), "token_not_yet_valid"),
        "issued in the future": (mint(key_id, secret, iat=now + 300, exp=now + 600), "token_not_yet_valid"),
        "no exp": (
            jwt.encode({"sub": "x", "iat": now}, secret, algorithm="HS256", headers={"kid": key_id}),
            "token_missing_claim",
        ),
        "no sub": (
            jwt.encode({"exp": now + 60}, secret, algorithm="HS256", headers={"kid": key_id}),
            "token_missing_claim",
        ),
        "lifetime over the cap": (mint(key_id, secret, lifetime=3600), "token_lifetime"),
        "exp far ahead without iat": (mint(key_id, secret, iat=None, exp=now + 3600), "token_lifetime"),
        "tampered payload": (f"{head}.{tampered_payload}.{sig}", "token_signature"),
        "tampered signature": (f"{head}.{payload}.{sig[:-4]}AAAA", "token_signature"),
        "garbage": ("this-is-not-a-token", "token_invalid"),
        "bad doctor_ids claim": (mint(key_id, secret, doctor_ids="everyone"), "token_invalid"),
    }
    for name, (token, code) in cases.items():
        r = await try_hold(client, clinic, token)
        assert r.status_code == 401, (name, r.text)
        assert r.json()["code"] == code, (name, r.json())
    # a valid token of another organisation cannot book this organisation's doctor
    r = await try_hold(client, clinic, mint(other_key, other_secret))
    assert r.status_code == 403, r.text
    assert (await try_hold(client, clinic, good)).status_code == 201


async def test_narrowing_claims_limit_doctors_and_types(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    key_id, secret = await new_secret(client, clinic, await org_admin(client, clinic, admin))
    only_60 = mint(key_id, secret, appointment_type_ids=[clinic.type_60])
    r = await try_hold(client, clinic, only_60, hour=10)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert (await try_hold(client, clinic, only_60, hour=10, type_id=clinic.type_60)).status_code == 201
    other_doctor = mint(key_id, secret, doctor_ids=["00000000-0000-0000-0000-000000000001"])
    assert (await try_hold(client, clinic, other_doctor, hour=12)).status_code == 403
    this_doctor = mint(key_id, secret, doctor_ids=[clinic.doctor_id])
    assert (await try_hold(client, clinic, this_doctor, hour=12)).status_code == 201


async def test_secrets_are_listed_without_values_revealed_on_request_and_stored_encrypted(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    import asyncpg

    from store.pool import server_settings

    headers = await org_admin(client, clinic, admin)
    key_id, secret = await new_secret(client, clinic, headers)
    listed = (await client.get(f"/v1/organisations/{clinic.organisation_id}/booking-secrets", headers=headers)).json()
    assert [s["key_id"] for s in listed] == [key_id]
    assert "secret" not in listed[0] and secret not in json.dumps(listed)
    revealed = await client.get(f"/v1/organisations/{clinic.organisation_id}/booking-secrets/{key_id}", headers=headers)
    assert revealed.json()["secret"] == secret
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        stored: bytes = await conn.fetchval("SELECT ciphertext FROM booking_secrets WHERE key_id = $1", key_id)
    finally:
        await conn.close()
    assert secret.encode() not in stored and len(stored) > len(secret)


async def test_rotation_with_two_active_secrets(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    headers = await org_admin(client, clinic, admin)
    old_key, old_secret = await new_secret(client, clinic, headers)
    token_from_old = mint(old_key, old_secret, lifetime=600)
    # 1. create the new secret: both work
    new_key, new_secret_value = await new_secret(client, clinic, headers)
    assert (await try_hold(client, clinic, token_from_old, hour=9)).status_code == 201
    # 2. the minter switches: new tokens carry the new kid
    token_from_new = mint(new_key, new_secret_value)
    assert (await try_hold(client, clinic, token_from_new, hour=10)).status_code == 201
    # 3. old tokens still in flight keep working until they expire
    assert (await try_hold(client, clinic, token_from_old, hour=11)).status_code == 201
    expired_old = mint(old_key, old_secret, iat=int(time.time()) - 900, exp=int(time.time()) - 60)
    assert (await try_hold(client, clinic, expired_old, hour=12)).json()["code"] == "token_expired"
    # 4. revoke the old secret: its tokens stop at once, the new ones go on
    r = await client.delete(f"/v1/organisations/{clinic.organisation_id}/booking-secrets/{old_key}", headers=headers)
    assert r.status_code == 204
    assert (await try_hold(client, clinic, token_from_old, hour=13)).json()["code"] == "token_revoked"
    assert (await try_hold(client, clinic, token_from_new, hour=14)).status_code == 201
    listed = (await client.get(f"/v1/organisations/{clinic.organisation_id}/booking-secrets", headers=headers)).json()
    assert {s["key_id"]: s["active"] for s in listed} == {old_key: False, new_key: True}


@pytest.mark.timeout(120)
def test_revocation_takes_effect_on_the_next_call_in_every_process(settings: Settings, tmp_path: Any) -> None:
    first, second = start_server(settings, str(tmp_path)), start_server(settings, str(tmp_path))
    try:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=first.url, timeout=10) as a, httpx.Client(base_url=second.url, timeout=10) as b:
            org = a.post("/v1/admin/organisations", json={"name": "R", "slug": "revoke-test"}, headers=admin).json()[
                "id"
            ]
            doctor = a.post(
                "/v1/admin/doctors", json={"organisation_id": org, "name": "D", "timezone": "UTC"}, headers=admin
            ).json()["id"]
            for weekday in range(1, 8):
                a.post(
                    f"/v1/doctors/{doctor}/availability-windows",
                    json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
                    headers=admin,
                )
            type_id = a.post(
                "/v1/admin/appointment-types",
                json={"organisation_id": org, "name": "T", "duration_minutes": 30},
                headers=admin,
            ).json()["id"]
            key = a.post(f"/v1/admin/organisations/{org}/api-keys", headers=admin).json()["key"]
            staff = {"Authorization": f"Bearer {key}"}
            created = a.post(f"/v1/organisations/{org}/booking-secrets", headers=staff).json()
            token = {"Authorization": f"Bearer {mint(created['key_id'], created['secret'])}"}
            day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))

            def hold(client: httpx.Client, hour: int) -> httpx.Response:
                body = {"doctor_id": doctor, "appointment_type_id": type_id, "start": f"{day}T{hour:02d}:00:00Z"}
                return client.post("/v1/holds", json=body, headers=token)

            assert hold(a, 9).status_code == 201
            assert hold(b, 10).status_code == 201  # both processes have seen (and could cache) the key
            assert (
                a.delete(f"/v1/organisations/{org}/booking-secrets/{created['key_id']}", headers=staff).status_code
                == 204
            )
            for client, hour in ((b, 11), (a, 12)):
                r = hold(client, hour)
                assert r.status_code == 401 and r.json()["code"] == "token_revoked", r.text
    finally:
        first.stop()
        second.stop()
