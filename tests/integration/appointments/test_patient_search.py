"""Staff find patients by part of a name or email (``GET /v1/appointments?patient=``), and the
admin page signs in with an organisation's slug (``GET /v1/admin/organisations/by-slug/{slug}``)."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from store.pool import connect_one
from tests.support import Clinic, make_clinic, sql

Client = AsyncTestClient[Litestar]
ROWS = 300

# Hundreds of upcoming appointments of one doctor, half an hour apart; three of them named.
FILL = """
INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, patient_name, patient_email,
                          patient_ref, starts_at, ends_at, blocked_until, status)
SELECT $1, $2, $3,
       CASE i WHEN 7 THEN 'Grace Hopper' WHEN 8 THEN 'Ada Lovelace' WHEN 9 THEN 'Grace Brewster'
              ELSE 'Patient ' || i END,
       CASE i WHEN 7 THEN 'g.hopper@navy.example' WHEN 8 THEN 'ada@analytical.example'
              WHEN 9 THEN 'Brewster_100%@example.org' ELSE 'p' || i || '@example.org' END,
       CASE i WHEN 8 THEN 'partner:crm-4711' ELSE NULL END,
       now() + interval '1 day' + i * interval '30 minutes',
       now() + interval '1 day' + i * interval '30 minutes' + interval '30 minutes',
       now() + interval '1 day' + i * interval '30 minutes' + interval '30 minutes',
       'confirmed'
FROM generate_series(1, $4::int) AS i
"""


async def fill(settings: Settings, clinic: Clinic) -> None:
    ids = (uuid.UUID(clinic.organisation_id), uuid.UUID(clinic.doctor_id), uuid.UUID(clinic.type_30))
    await sql(settings, FILL, *ids, ROWS)


async def names(client: Client, headers: dict[str, str], patient: str) -> list[str]:
    r = await client.get("/v1/appointments", params={"patient": patient, "limit": 50}, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(a["patient"]["name"] for a in r.json()["items"])


async def admin_key(client: Client, admin: dict[str, str], clinic: Clinic) -> dict[str, str]:
    r = await client.post(f"/v1/admin/organisations/{clinic.organisation_id}/api-keys", headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def test_part_of_a_name_or_email_finds_the_patient(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(client, admin)
    other = await make_clinic(client, admin)
    await fill(settings, clinic)
    await fill(settings, other)  # the same names in another organisation
    key = await admin_key(client, admin, clinic)

    assert await names(client, key, "hopp") == ["Grace Hopper"]
    assert await names(client, key, "GRACE") == ["Grace Brewster", "Grace Hopper"]
    assert await names(client, key, "navy.EXAMPLE") == ["Grace Hopper"]
    assert await names(client, key, "  lovelace ada ") == ["Ada Lovelace"]  # every word, any order
    assert await names(client, key, "grace example.org") == ["Grace Brewster"]  # name and email together
    # the contract: a whole email address and a patient reference still find their patient
    assert await names(client, key, "G.Hopper@navy.example") == ["Grace Hopper"]
    assert await names(client, key, "crm-4711") == ["Ada Lovelace"]
    # LIKE's own characters are plain characters
    assert await names(client, key, "_100%") == ["Grace Brewster"]
    assert await names(client, key, "Patient_1") == []  # not "Patient 1…": "_" is no wildcard
    assert await names(client, key, "nobody-here") == []
    assert len(await names(client, key, "patient 1")) == 50  # a page of many, each in this organisation
    r = await client.get("/v1/appointments", params={"patient": "patient 1", "limit": 50}, headers=key)
    assert {a["organisation_id"] for a in r.json()["items"]} == {clinic.organisation_id}
    # the platform operator searches every organisation
    assert await names(client, admin, "hopp") == ["Grace Hopper", "Grace Hopper"]

    r = await client.get("/v1/appointments", params={"patient": "a b c d e f g h i"}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await client.get("/v1/appointments", params={"patient": "x" * 201}, headers=key)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


async def test_the_search_is_served_by_a_trigram_index(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(client, admin)
    await fill(settings, clinic)
    found = await sql(
        settings,
        "SELECT e.extname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_opclass o ON o.oid = ANY(i.indclass) JOIN pg_depend d ON d.objid = o.oid"
        " JOIN pg_extension e ON e.oid = d.refobjid WHERE c.relname = 'appointments_patient_search_idx'"
        " AND c.relnamespace = current_schema()::regnamespace",
    )
    assert {r["extname"] for r in found} == {"pg_trgm"}
    # A few hundred rows are cheaper to scan; with scans priced out, the index must serve ILIKE.
    conn = await connect_one(settings.database)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) SELECT id FROM appointments"
            " WHERE patient_name ILIKE '%hopp%' OR patient_email ILIKE '%hopp%'"
        )
    finally:
        await conn.close()
    assert "appointments_patient_search_idx" in str(plan)


async def test_the_admin_page_signs_in_with_the_slug(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin)
    other = await make_clinic(client, admin)
    path = f"/v1/admin/organisations/by-slug/{clinic.slug}"

    r = await client.get(path, headers=admin)  # the platform token
    assert r.status_code == 200, r.text
    assert r.json()["id"] == clinic.organisation_id and r.json()["slug"] == clinic.slug
    r = await client.get(path, headers=await admin_key(client, admin, clinic))
    assert r.status_code == 200 and r.json()["id"] == clinic.organisation_id

    r = await client.get(path, headers=await admin_key(client, admin, other))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin)
    r = await client.get(path, headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert r.status_code == 403
    r = await client.get(path)
    assert r.status_code == 401
    r = await client.get("/v1/admin/organisations/by-slug/no-such-clinic", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # the id still works as before
    r = await client.get(f"/v1/admin/organisations/{clinic.organisation_id}", headers=admin)
    assert r.status_code == 200

    r = await client.get("/schema/openapi.json")
    assert "/v1/admin/organisations/by-slug/{slug}" in r.json()["paths"]
