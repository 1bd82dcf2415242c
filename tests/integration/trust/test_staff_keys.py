"""Organisation admin keys and doctor credentials: listed without values, revocable, expirable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings
from store.pool import server_settings
from tests.support import Clinic, make_clinic

Client = AsyncTestClient[Litestar]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_leaked_admin_key_is_listed_without_value_and_revoked_everywhere(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    url = f"/v1/admin/organisations/{clinic.organisation_id}/api-keys"
    leaked = (await client.post(url, headers=admin)).json()
    kept = (await client.post(url, headers=admin)).json()
    async with AsyncTestClient(app=create_app(settings), timeout=30) as other_process:
        for c in (client, other_process):  # both work, in both "processes"
            assert (await c.get("/v1/me", headers=bearer(leaked["key"]))).json()["role"] == "admin"
        listed = await client.get(url, headers=admin)
        assert listed.status_code == 200
        assert {k["id"] for k in listed.json()} == {leaked["id"], kept["id"]}
        assert leaked["key"] not in listed.text and kept["key"] not in listed.text
        assert all(k["active"] for k in listed.json())
        # only the platform operator manages admin keys, not the organisation's admins themselves
        assert (await client.get(url, headers=bearer(kept["key"]))).status_code == 403
        assert (await client.delete(f"{url}/{leaked['id']}", headers=bearer(kept["key"]))).status_code == 403
        assert (await client.delete(f"{url}/{leaked['id']}", headers=admin)).status_code == 204
        for c in (client, other_process):
            r = await c.get("/v1/me", headers=bearer(leaked["key"]))
            assert r.status_code == 401 and r.json()["code"] == "unknown_key"
            assert (await c.get("/v1/me", headers=bearer(kept["key"]))).status_code == 200
    after = {k["id"]: k for k in (await client.get(url, headers=admin)).json()}
    assert after[leaked["id"]]["active"] is False and after[leaked["id"]]["revoked_at"]
    other = await make_clinic(client, admin)
    wrong_org = f"/v1/admin/organisations/{other.organisation_id}/api-keys/{kept['id']}"
    assert (await client.delete(wrong_org, headers=admin)).status_code == 404


async def test_a_doctor_credential_is_listed_and_revoked_by_the_organisations_admins(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    org_admin = bearer(
        (await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", headers=admin)).json()["key"]
    )
    url = f"/v1/admin/doctors/{clinic.doctor_id}/credentials"
    cred = (await client.post(url, headers=org_admin)).json()
    doctor = bearer(cred["token"])
    assert (await client.get("/v1/me", headers=doctor)).json()["role"] == "doctor"
    listed = await client.get(url, headers=org_admin)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [cred["id"]]
    assert cred["token"] not in listed.text
    # the doctor may not list or revoke credentials; nor may another organisation's admin
    other = await make_clinic(client, admin)
    stranger = bearer(
        (await client.post(f"/v1/admin/organisations/{other.organisation_id}/api-keys", headers=admin)).json()["key"]
    )
    for who in (doctor, stranger):
        assert (await client.get(url, headers=who)).status_code == 403
        assert (await client.delete(f"{url}/{cred['id']}", headers=who)).status_code == 403
    async with AsyncTestClient(app=create_app(settings), timeout=30) as other_process:
        assert (await other_process.get("/v1/me", headers=doctor)).status_code == 200
        assert (await client.delete(f"{url}/{cred['id']}", headers=org_admin)).status_code == 204
        for c in (client, other_process):
            assert (await c.get("/v1/me", headers=doctor)).status_code == 401
    assert (await client.get(url, headers=org_admin)).json()[0]["active"] is False


async def test_keys_and_credentials_expire(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    key = (
        await client.post(
            f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", json={"expires_at": soon}, headers=admin
        )
    ).json()
    cred = (
        await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", json={"expires_at": soon}, headers=admin)
    ).json()
    assert key["expires_at"] and cred["expires_at"]
    for token in (key["key"], cred["token"]):
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    # time passes (the API does not accept an expiry in the past)
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        await conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 second'")
        await conn.execute("UPDATE doctor_credentials SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    for token in (key["key"], cred["token"]):
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 401
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", json={"expires_at": past}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
