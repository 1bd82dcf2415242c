"""Routes that hand out and take back trust: admin keys, doctor credentials, booking secrets, sessions."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Router, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody
from msgspec import UnsetType

from gateway.clinic import service as clinic_service
from gateway.clinic.service import allow
from gateway.deps import Caller, Db, Svc
from gateway.errors import Conflict, NotFound, SecretUnreadable
from gateway.ratelimit import client_network
from gateway.trust import schemas, staff_keys
from store import clinic as clinic_repo
from store import trust as repo
from store.models import Organisation
from store.trust import BookingSecret
from store.types import Conn

logger = logging.getLogger("gateway.trust")
NO_STORE = CacheControlHeader(no_store=True)
"""Answers that carry a secret or a bearer token: no cache (browser, proxy) may keep a copy."""


async def _organisation(db: Conn, organisation_id: uuid.UUID) -> Organisation:
    found = await clinic_repo.get_organisation(db, organisation_id)
    if found is None:
        raise NotFound(f"Organisation {organisation_id} not found.")
    return found


@get("/v1/admin/organisations/{organisation_id:uuid}", tags=["trust"])
async def get_organisation(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> Organisation:
    """An organisation and its allowed origins (its admins)."""
    allow(caller.administers(organisation_id))
    return await _organisation(db, organisation_id)


@get("/v1/admin/organisations/by-slug/{slug:str}", tags=["trust"], security=[{"bearer": []}])
async def get_organisation_by_slug(db: Db, caller: Caller, slug: FromPath[str]) -> Organisation:
    """The organisation with this slug (``demo``), for its admins and the platform operator: what
    the admin page signs in with, besides the id. 404 when no organisation has the slug."""
    found = await clinic_repo.get_organisation_by_slug(db, slug)
    if found is None:
        raise NotFound(f"No organisation has slug {slug!r}.")
    allow(caller.administers(found.id))
    return found


@patch("/v1/admin/organisations/{organisation_id:uuid}", tags=["trust"])
async def update_organisation(
    db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], data: JSONBody[schemas.OrganisationPatch]
) -> Organisation:
    """Edit an organisation (its admins); each field is optional:

    * ``allowed_origins``: the origins allowed to embed its booking (CORS), e.g. ``https://partner.example``;
    * ``admin_emails`` (at most 20): where admin notices go (a low rating, a disabled webhook);
    * ``low_rating_threshold`` (0..5, default 2): a review rated at or under it alerts the admins.
    """
    allow(caller.administers(organisation_id))
    current = await _organisation(db, organisation_id)
    admin_emails, threshold = clinic_service.organisation_notices(
        current,
        None if isinstance(data.admin_emails, UnsetType) else data.admin_emails,
        None if isinstance(data.low_rating_threshold, UnsetType) else data.low_rating_threshold,
    )
    async with svc.db.acquire() as conn, conn.transaction():  # every field or none
        if not isinstance(data.allowed_origins, UnsetType):
            await repo.set_origins(conn, organisation_id, sorted(set(data.allowed_origins)))
        await clinic_repo.set_organisation_notices(conn, organisation_id, admin_emails, threshold)
    if not isinstance(data.allowed_origins, UnsetType):
        await svc.origins.changed()
    return await _organisation(db, organisation_id)


def _info(secret: BookingSecret) -> schemas.SecretInfo:
    return schemas.SecretInfo(
        key_id=secret.key_id,
        organisation_id=secret.organisation_id,
        active=secret.revoked_at is None,
        created_at=secret.created_at,
        revoked_at=secret.revoked_at,
    )


@post("/v1/organisations/{organisation_id:uuid}/booking-secrets", tags=["trust"], cache_control=NO_STORE)
async def create_secret(db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> schemas.SecretOut:
    """A new booking secret for a partner backend to sign booking tokens with (HS256, header ``kid`` = ``key_id``)."""
    allow(caller.administers(organisation_id))
    await _organisation(db, organisation_id)
    key_id = f"bk_{secrets.token_hex(8)}"
    value = secrets.token_urlsafe(32)
    stored = await repo.create_secret(db, key_id, organisation_id, svc.verifier.box.seal(key_id, value))
    return schemas.SecretOut(key_id=key_id, organisation_id=organisation_id, secret=value, created_at=stored.created_at)


@get("/v1/organisations/{organisation_id:uuid}/booking-secrets", tags=["trust"])
async def list_secrets(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> list[schemas.SecretInfo]:
    """The organisation's booking secrets, without their values."""
    allow(caller.administers(organisation_id))
    return [_info(s) for s in await repo.list_secrets(db, organisation_id)]


async def _secret(db: Conn, organisation_id: uuid.UUID, key_id: str) -> BookingSecret:
    found = await repo.get_secret(db, key_id)
    if found is None or found.organisation_id != organisation_id:
        raise NotFound(f"No booking secret {key_id!r} in this organisation.")
    return found


@get("/v1/organisations/{organisation_id:uuid}/booking-secrets/{key_id:str}", tags=["trust"], cache_control=NO_STORE)
async def reveal_secret(
    db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], key_id: FromPath[str]
) -> schemas.SecretOut:
    """Reveal one secret's value again (an active one)."""
    allow(caller.administers(organisation_id))
    found = await _secret(db, organisation_id, key_id)
    if found.revoked_at is not None:
        raise Conflict(f"The booking secret {key_id!r} is revoked.", code="secret_revoked")
    try:
        value = svc.verifier.box.open(key_id, found.ciphertext)
    except ValueError:
        logger.error("booking secret %s no longer decrypts: GATEWAY_SECRET_KEY changed since it was created", key_id)
        raise SecretUnreadable(
            f"The booking secret {key_id!r} cannot be decrypted with this gateway's key;"
            " revoke it and create a new one."
        ) from None
    return schemas.SecretOut(key_id=key_id, organisation_id=organisation_id, secret=value, created_at=found.created_at)


@delete("/v1/organisations/{organisation_id:uuid}/booking-secrets/{key_id:str}", tags=["trust"])
async def revoke_secret(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID], key_id: FromPath[str]) -> None:
    """Revoke a secret: tokens under its ``kid`` fail on their next call, in every gateway process."""
    allow(caller.administers(organisation_id))
    await _secret(db, organisation_id, key_id)
    await repo.revoke_secret(db, key_id, organisation_id)


@post("/v1/sessions", tags=["trust"], cache_control=NO_STORE)
async def create_session(
    db: Db, svc: Svc, request: Request[Any, Any, Any], data: JSONBody[schemas.SessionIn]
) -> schemas.SessionOut:
    """An anonymous, short-lived patient session for the organisation's public booking page."""
    await svc.limiter.check("sessions", client_network(request), svc.settings.trust.sessions_per_address)
    organisation = await clinic_repo.get_organisation_by_slug(db, data.organisation_slug)
    if organisation is None:
        raise NotFound(f"No organisation has slug {data.organisation_slug!r}.")
    token, exp = svc.verifier.mint_session(organisation.id)
    return schemas.SessionOut(
        token=token, expires_at=datetime.fromtimestamp(exp, tz=UTC), organisation_id=organisation.id
    )


router = Router(
    path="/",
    route_handlers=[
        get_organisation, get_organisation_by_slug, update_organisation,
        create_secret, list_secrets, reveal_secret, revoke_secret, create_session, *staff_keys.handlers,
    ],
)  # fmt: skip
