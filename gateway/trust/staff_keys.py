"""Staff bearer keys: organisation admin keys (``gk_…``) and doctor credentials (``gd_…``).

Each is shown once when created and stored only as a hash; it can be listed (never its value),
given an expiry, and revoked by id. Keys are looked up in Postgres on every call, so a revoked
or expired key fails on its very next call in every gateway process.
"""

from __future__ import annotations

import uuid

from litestar import delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody

from gateway.auth import require_platform
from gateway.deps import Caller, Db
from gateway.trust import schemas, service

NO_STORE = CacheControlHeader(no_store=True)
"""The answer carries the key itself: no cache may keep a copy."""
ORG_KEYS = "/v1/admin/organisations/{organisation_id:uuid}/api-keys"
DOCTOR_KEYS = "/v1/admin/doctors/{doctor_id:uuid}/credentials"


@post(ORG_KEYS, guards=[require_platform], tags=["trust"], cache_control=NO_STORE)
async def create_api_key(
    db: Db, organisation_id: FromPath[uuid.UUID], data: JSONBody[schemas.KeyIn | None] = None
) -> schemas.ApiKeyOut:
    """A new admin API key for the organisation (platform operator). The key is shown only here."""
    return await service.create_api_key(db, organisation_id, data)


@get(ORG_KEYS, guards=[require_platform], tags=["trust"])
async def list_api_keys(db: Db, organisation_id: FromPath[uuid.UUID]) -> list[schemas.KeyInfo]:
    """The organisation's admin keys, without their values (platform operator)."""
    return await service.list_api_keys(db, organisation_id)


@delete(f"{ORG_KEYS}/{{key_id:uuid}}", guards=[require_platform], tags=["trust"])
async def revoke_api_key(db: Db, organisation_id: FromPath[uuid.UUID], key_id: FromPath[uuid.UUID]) -> None:
    """Revoke an admin key: it fails on its next call, in every gateway process."""
    await service.revoke_api_key(db, organisation_id, key_id)


@post(DOCTOR_KEYS, tags=["trust"], cache_control=NO_STORE)
async def create_credential(
    db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID], data: JSONBody[schemas.KeyIn | None] = None
) -> schemas.CredentialOut:
    """A bearer token for the doctor (their organisation's admins). Shown only here."""
    return await service.create_credential(db, caller, doctor_id, data)


@get(DOCTOR_KEYS, tags=["trust"])
async def list_credentials(db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID]) -> list[schemas.KeyInfo]:
    """The doctor's credentials, without their values (their organisation's admins)."""
    return await service.list_credentials(db, caller, doctor_id)


@delete(f"{DOCTOR_KEYS}/{{credential_id:uuid}}", tags=["trust"])
async def revoke_credential(
    db: Db, caller: Caller, doctor_id: FromPath[uuid.UUID], credential_id: FromPath[uuid.UUID]
) -> None:
    """Revoke a doctor credential: it fails on its next call, in every gateway process."""
    await service.revoke_credential(db, caller, doctor_id, credential_id)


handlers = [create_api_key, list_api_keys, revoke_api_key, create_credential, list_credentials, revoke_credential]
