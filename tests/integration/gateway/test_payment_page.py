"""An organisation's own payment page: the booking page's payment hook per clinic, before the deployment's."""

from __future__ import annotations

import html
import re

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.support import Clinic

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]
DEPLOYMENT = "https://pay.deployment.example/{organisation_slug}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, payment_page_url=DEPLOYMENT)


async def payment_page(client: Client, clinic: Clinic) -> str:
    r = await client.get(f"/book/{clinic.doctor_id}", params={"appointment_type_id": clinic.type_30})
    assert r.status_code == 200
    found = re.search(r'data-payment-page="([^"]*)"', r.text)
    assert found, r.text
    return html.unescape(found.group(1))


async def test_an_organisations_payment_page_comes_before_the_deployments(
    client: Client, clinic: Clinic, admin: Headers
) -> None:
    path = f"/v1/admin/organisations/{clinic.organisation_id}"
    assert await payment_page(client, clinic) == f"https://pay.deployment.example/{clinic.slug}"
    assert (await client.get(path, headers=admin)).json()["payment_page_url"] is None

    own = "https://clinic.example/pay?clinic={organisation_slug}&lang=de"
    r = await client.patch(path, json={"payment_page_url": own}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["payment_page_url"] == own
    assert await payment_page(client, clinic) == f"https://clinic.example/pay?clinic={clinic.slug}&lang=de"

    # development: plain http to this machine only
    r = await client.patch(path, json={"payment_page_url": "http://127.0.0.1:8081/pay"}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.patch(path, json={"payment_page_url": own}, headers=admin)

    for bad in ("http://clinic.example/pay", "ftp://clinic.example/pay", "/pay", "https://me:pw@clinic.example/pay"):
        r = await client.patch(path, json={"payment_page_url": bad, "low_rating_threshold": 4}, headers=admin)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_payment_page_url"), bad
        assert r.json()["detail"].startswith("payment_page_url must"), r.text
    r = await client.get(path, headers=admin)
    assert r.json()["payment_page_url"] == own and r.json()["low_rating_threshold"] == 2  # nothing half-written

    # other fields leave it alone; null falls back to the deployment's
    r = await client.patch(path, json={"low_rating_threshold": 3}, headers=admin)
    assert r.json()["payment_page_url"] == own
    r = await client.patch(path, json={"payment_page_url": None}, headers=admin)
    assert r.status_code == 200 and r.json()["payment_page_url"] is None
    assert await payment_page(client, clinic) == f"https://pay.deployment.example/{clinic.slug}"


async def test_the_field_is_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    props = schema["components"]["schemas"]
    patch = next(v for k, v in props.items() if k.endswith("OrganisationPatch"))
    assert "payment_page_url" in patch["properties"]
