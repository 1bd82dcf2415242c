"""Staff bearer keys: organisation admin keys (``gk_…``) and doctor credentials (``gd_…``).

Each is shown once when created and stored only as a hash; it can be listed (never its value),
given an expiry, and revoked by id. Keys are looked up in Postgres on every call, so a revoked
or expired key fails on its very next call in every gateway process.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar import delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody

from gateway.auth import require_platform
from gateway.clinic.service import allow, doctor
from gateway.deps import Caller, Db
from gateway.errors import NotFound, ValidationFailed
from gateway.trust import schemas
from gateway.trust.crypto import fingerprint, new_token
from store import clinic as clinic_repo
from store import trust as repo
from store.trust import ApiKey, DoctorCredential
from store.types import Conn

NO_STORE = CacheControlHeader(no_store=True)
"""The answer carries the key itself: no cache may keep a copy."""
ORG_KEYS = "/v1/admin/organisations/{organisation_id:uuid}/api-keys"
DOCTOR_KEYS = "/v1/admin/doctors/{doctor_id:uuid}/credentials"


async def _organisation(db: Conn, organisation_id: uuid.UUID) -> None:
    if await clinic_repo.get_organisation(db, organisation_id) is None:
        raise NotFound(f"Organisation {organisation_id} not found.")


def _expiry(body: schemas.KeyIn | None) -> datetime | None:
    if body is None or body.expires_at is None:
        return None
    if body.expires_at.tzinfo is None:
        raise ValidationFailed("expires_at: add an offset or Z", field="expires_at")
    if body.expires_at <= datetime.now(UTC):
        raise ValidationFailed("expires_at: must be in the future", field="expires_at")
    return body.expires_at


def _info(key: ApiKey | DoctorCredential) -> schemas.KeyInfo:
    now = datetime.now(UTC)
    return schemas.KeyInfo(
        id=key.id,
        organisation_id=key.organisation_id,
        doctor_id=key.doctor_id if isinstance(key, DoctorCredential) else None,
        active=key.revoked_at is None and (key.expires_at is None or key.expires_at > now),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
    )


@post(ORG_KEYS, guards=[require_platform], tags=["trust"], cache_control=NO_STORE)
async def create_api_key(
    db: Db, organisation_id: FromPath[uuid.UUID], data: JSONBody[schemas.KeyIn | None] = None
) -> schemas.ApiKeyOut:
    """A new admin API key for the organisation (platform operator). The key is shown only here."""
    await _organisation(db, organisation_id)
    key = new_token("gk")
    stored = await repo.create_api_key(db, organisation_id, fingerprint(key), _expiry(data))
    return schemas.ApiKeyOut(
        id=stored.id, organisation_id=organisation_id, key=key, created_at=stored.created_at,
        expires_at=stored.expires_at,
    )  # fmt: skip


@get(ORG_KEYS, guards=[require_platform], tags=["trust"])
async def list_api_keys(db: Db, organisation_id: FromPath[uuid.UUID]) -> list[schemas.KeyInfo]:
    """The organisation's admin keys, without their values (platform operator)."""
    await _organisation(db, organisation_id)
    return [_info(k) for k in await repo.list_api_keys(db, organisation_id)]


@delete(f"{ORG_KEYS}/{{key_id:uuid}}", guards=[require_platform], tags=["trust"])
async def revoke_api_key(db: Db, organisation_id: FromPath[uuid.UUID], key_id: FromPath[uuid.UUID]) -> None:
    """Revoke an admin key: it fails on its next call, in every gateway process."""
    if await repo.revoke_api_key(db, key_id, organisation_id) is None:
        raise NotFound(f"No admin key {key_id} in this organisation.")


@post(DOCTOR_KEYS, tags=["trust"], cache_control=NO_STORE)
async def create_credential(
    db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID], data: JSONBody[schemas.KeyIn | None] = None
) -> schemas.CredentialOut:
    """A bearer token for the doctor (their organisation's admins). Shown only here."""
    found = await doctor(db, doctor_id)
    allow(caller.administers(found.organisation_id), "Only the organisation's admins may issue doctor credentials.")
    token = new_token("gd")
    stored = await repo.create_credential(db, doctor_id, fingerprint(token), _expiry(data))
    return schemas.CredentialOut(
        id=stored.id, doctor_id=doctor_id, token=token, created_at=stored.created_at, expires_at=stored.expires_at
    )


@get(DOCTOR_KEYS, tags=["trust"])
async def list_credentials(db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID]) -> list[schemas.KeyInfo]:
    """The doctor's credentials, without their values (their organisation's admins)."""
    found = await doctor(db, doctor_id)
    allow(caller.administers(found.organisation_id), "Only the organisation's admins may list doctor credentials.")
    return [_info(c) for c in await repo.list_credentials(db, doctor_id)]


@delete(f"{DOCTOR_KEYS}/{{credential_id:uuid}}", tags=["trust"])
async def revoke_credential(
    db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID], credential_id: FromPath[uuid.UUID]
) -> None:
    """Revoke a doctor credential: it fails on its next call, in every gateway process."""
    found = await doctor(db, doctor_id)
    allow(caller.administers(found.organisation_id), "Only the organisation's admins may revoke doctor credentials.")
    if await repo.revoke_credential(db, credential_id, doctor_id) is None:
        raise NotFound(f"No credential {credential_id} for this doctor.")


handlers = [create_api_key, list_api_keys, revoke_api_key, create_credential, list_credentials, revoke_credential]
