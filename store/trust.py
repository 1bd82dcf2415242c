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
    expires_at: datetime | None = None


class DoctorCredential(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    doctor_id: uuid.UUID
    organisation_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None


class BookingSecret(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    organisation_id: uuid.UUID
    ciphertext: bytes
    created_at: datetime
    revoked_at: datetime | None


# Keys are looked up on every call (no cache): a revoked or expired key fails on its next call
# in every process.
INSERT_API_KEY = (
    "INSERT INTO api_keys (organisation_id, key_hash, expires_at) VALUES ($1, $2, $3)"
    " RETURNING id, organisation_id, created_at, revoked_at, expires_at"
)
API_KEY_BY_HASH = (
    "SELECT id, organisation_id, created_at, revoked_at, expires_at FROM api_keys"
    " WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
)
LIST_API_KEYS = (
    "SELECT id, organisation_id, created_at, revoked_at, expires_at FROM api_keys"
    " WHERE organisation_id = $1 ORDER BY created_at, id"
)
REVOKE_API_KEY = (
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND organisation_id = $2"
    " RETURNING id, organisation_id, created_at, revoked_at, expires_at"
)
INSERT_CREDENTIAL = (
    "WITH c AS (INSERT INTO doctor_credentials (doctor_id, token_hash, expires_at) VALUES ($1, $2, $3) RETURNING *)"
    " SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at, c.expires_at"
    " FROM c JOIN doctors d ON d.id = c.doctor_id"
)
CREDENTIAL_BY_HASH = (
    "SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at, c.expires_at"
    " FROM doctor_credentials c JOIN doctors d ON d.id = c.doctor_id"
    " WHERE c.token_hash = $1 AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now())"
)
LIST_CREDENTIALS = (
    "SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at, c.expires_at"
    " FROM doctor_credentials c JOIN doctors d ON d.id = c.doctor_id"
    " WHERE c.doctor_id = $1 ORDER BY c.created_at, c.id"
)
REVOKE_CREDENTIAL = (
    "WITH c AS (UPDATE doctor_credentials SET revoked_at = coalesce(revoked_at, now())"
    " WHERE id = $1 AND doctor_id = $2 RETURNING *)"
    " SELECT c.id, c.doctor_id, d.organisation_id, c.created_at, c.revoked_at, c.expires_at"
    " FROM c JOIN doctors d ON d.id = c.doctor_id"
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


async def create_api_key(
    db: Conn, organisation_id: uuid.UUID, key_hash: str, expires_at: datetime | None = None
) -> ApiKey:
    return from_record(ApiKey, await db.fetchrow(INSERT_API_KEY, organisation_id, key_hash, expires_at))


async def list_api_keys(db: Conn, organisation_id: uuid.UUID) -> list[ApiKey]:
    return [from_record(ApiKey, r) for r in await db.fetch(LIST_API_KEYS, organisation_id)]


async def revoke_api_key(db: Conn, key_id: uuid.UUID, organisation_id: uuid.UUID) -> ApiKey | None:
    row = await db.fetchrow(REVOKE_API_KEY, key_id, organisation_id)
    return from_record(ApiKey, row) if row else None


async def api_key_by_hash(db: Conn, key_hash: str) -> ApiKey | None:
    row = await db.fetchrow(API_KEY_BY_HASH, key_hash)
    return from_record(ApiKey, row) if row else None


async def create_credential(
    db: Conn, doctor_id: uuid.UUID, token_hash: str, expires_at: datetime | None = None
) -> DoctorCredential:
    return from_record(DoctorCredential, await db.fetchrow(INSERT_CREDENTIAL, doctor_id, token_hash, expires_at))


async def list_credentials(db: Conn, doctor_id: uuid.UUID) -> list[DoctorCredential]:
    return [from_record(DoctorCredential, r) for r in await db.fetch(LIST_CREDENTIALS, doctor_id)]


async def revoke_credential(db: Conn, credential_id: uuid.UUID, doctor_id: uuid.UUID) -> DoctorCredential | None:
    row = await db.fetchrow(REVOKE_CREDENTIAL, credential_id, doctor_id)
    return from_record(DoctorCredential, row) if row else None


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
