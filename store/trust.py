"""Credentials: organisation admin keys, doctor credentials, booking secrets."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from store.models import from_record
from store.types import Conn


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None


class DoctorCredential(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    doctor_id: uuid.UUID
    organisation_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None


class BookingSecret(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    organisation_id: uuid.UUID
    ciphertext: bytes
    created_at: datetime
    revoked_at: datetime | None


INSERT_API_KEY = (
    "INSERT INTO api_keys (organisation_id, key_hash) VALUES ($1, $2)"
    " RETURNING id, organisation_id, created_at, revoked_at"
)
API_KEY_BY_HASH = (
    "SELECT id, organisation_id, created_at, revoked_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
)
INSERT_CREDENTIAL = (
    "WITH c AS (INSERT INTO doctor_credentials (doctor_id, token_hash) VALUES ($1, $2) RETURNING *)"
    " SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at"
    " FROM c JOIN doctors d ON d.id = c.doctor_id"
)
CREDENTIAL_BY_HASH = (
    "SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at"
    " FROM doctor_credentials c JOIN doctors d ON d.id = c.doctor_id"
    " WHERE c.token_hash = $1 AND c.revoked_at IS NULL"
)
INSERT_SECRET = "INSERT INTO booking_secrets (key_id, organisation_id, ciphertext) VALUES ($1, $2, $3) RETURNING *"
GET_SECRET = "SELECT * FROM booking_secrets WHERE key_id = $1"
LIST_SECRETS = "SELECT * FROM booking_secrets WHERE organisation_id = $1 ORDER BY created_at, key_id"
REVOKE_SECRET = (
    "UPDATE booking_secrets SET revoked_at = coalesce(revoked_at, now())"
    " WHERE key_id = $1 AND organisation_id = $2 RETURNING *"
)
SET_ORIGINS = "UPDATE organisations SET allowed_origins = $2 WHERE id = $1 RETURNING allowed_origins"
ORIGINS = "SELECT allowed_origins FROM organisations WHERE id = $1"
ALL_ORIGINS = "SELECT DISTINCT unnest(allowed_origins) AS origin FROM organisations"


async def create_api_key(db: Conn, organisation_id: uuid.UUID, key_hash: str) -> ApiKey:
    return from_record(ApiKey, await db.fetchrow(INSERT_API_KEY, organisation_id, key_hash))


async def api_key_by_hash(db: Conn, key_hash: str) -> ApiKey | None:
    row = await db.fetchrow(API_KEY_BY_HASH, key_hash)
    return from_record(ApiKey, row) if row else None


async def create_credential(db: Conn, doctor_id: uuid.UUID, token_hash: str) -> DoctorCredential:
    return from_record(DoctorCredential, await db.fetchrow(INSERT_CREDENTIAL, doctor_id, token_hash))


async def credential_by_hash(db: Conn, token_hash: str) -> DoctorCredential | None:
    row = await db.fetchrow(CREDENTIAL_BY_HASH, token_hash)
    return from_record(DoctorCredential, row) if row else None


async def create_secret(db: Conn, key_id: str, organisation_id: uuid.UUID, ciphertext: bytes) -> BookingSecret:
    return from_record(BookingSecret, await db.fetchrow(INSERT_SECRET, key_id, organisation_id, ciphertext))


async def get_secret(db: Conn, key_id: str) -> BookingSecret | None:
    row = await db.fetchrow(GET_SECRET, key_id)
    return from_record(BookingSecret, row) if row else None


async def list_secrets(db: Conn, organisation_id: uuid.UUID) -> list[BookingSecret]:
    return [from_record(BookingSecret, r) for r in await db.fetch(LIST_SECRETS, organisation_id)]


async def revoke_secret(db: Conn, key_id: str, organisation_id: uuid.UUID) -> BookingSecret | None:
    row = await db.fetchrow(REVOKE_SECRET, key_id, organisation_id)
    return from_record(BookingSecret, row) if row else None


async def set_origins(db: Conn, organisation_id: uuid.UUID, origins: list[str]) -> list[str] | None:
    row = await db.fetchrow(SET_ORIGINS, organisation_id, origins)
    return list(row["allowed_origins"]) if row else None


async def origins(db: Conn, organisation_id: uuid.UUID) -> list[str]:
    row = await db.fetchrow(ORIGINS, organisation_id)
    return list(row["allowed_origins"]) if row else []


async def all_origins(db: Conn) -> set[str]:
    return {r["origin"] for r in await db.fetch(ALL_ORIGINS)}
