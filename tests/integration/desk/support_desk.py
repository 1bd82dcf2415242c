"""Helpers of the front desk's tests: an organisation admin's key, a patient's hold."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, patient

Client = AsyncTestClient[Litestar]
PATIENT = {"name": "Grace Hopper", "email": "grace@example.org", "phone": "+4930123456", "timezone": "Europe/Berlin"}


async def admin_key(client: Client, admin: dict[str, str], clinic: Clinic) -> dict[str, str]:
    """Headers of a fresh ``gk_…`` admin key of the clinic's organisation."""
    r = await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def patient_hold(client: Client, clinic: Clinic, start: str, type_id: str | None = None) -> dict[str, Any]:
    """A patient's hold at ``start``, with the patient's headers under ``headers``."""
    who = await patient(client, clinic)
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": type_id or clinic.type_30, "start": start},
        headers=who,
    )
    assert r.status_code == 201, r.text
    held: dict[str, Any] = r.json()
    return held | {"headers": who}
