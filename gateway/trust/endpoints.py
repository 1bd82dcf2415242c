"""Routes that hand out and take back trust: admin keys, doctor credentials, booking secrets, sessions.

Thin: each reads its request and calls ``gateway.trust.service``, which decides.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Router, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody

from gateway.clinic.service import allow
from gateway.deps import Caller, Db, Svc
from gateway.ratelimit import client_network
from gateway.trust import schemas, service, staff_keys
from store.models import Organisation

NO_STORE = CacheControlHeader(no_store=True)
"""Answers that carry a secret or a bearer token: no cache (browser, proxy) may keep a copy."""


@get("/v1/admin/organisations/{organisation_id:uuid}", tags=["trust"])
async def get_organisation(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> Organisation:
    """An organisation and its allowed origins (its admins)."""
    allow(caller.administers(organisation_id))
    return await service.organisation(db, organisation_id)


@get("/v1/admin/organisations/by-slug/{slug:str}", tags=["trust"], security=[{"bearer": []}])
async def get_organisation_by_slug(db: Db, caller: Caller, slug: FromPath[str]) -> Organisation:
    """The organisation with this slug (``demo``), for its admins and the platform operator: what
    the admin page signs in with, besides the id. 404 when no organisation has the slug."""
    return await service.organisation_by_slug(db, caller, slug)


@patch("/v1/admin/organisations/{organisation_id:uuid}", tags=["trust"])
async def update_organisation(
    db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], data: JSONBody[schemas.OrganisationPatch]
) -> Organisation:
    """Edit an organisation (its admins); each field is optional:

    * ``allowed_origins``: the origins allowed to embed its booking (CORS), e.g. ``https://partner.example``;
    * ``admin_emails`` (at most 20): where admin notices go (a low rating, a disabled webhook);
    * ``low_rating_threshold`` (0..5, default 2): a review rated at or under it alerts the admins;
    * ``payment_page_url``: the booking page's payment hook for this organisation (an https address;
      ``{organisation_slug}`` is replaced), before the deployment's ``GATEWAY_PAYMENT_PAGE_URL``;
      ``null`` falls back to that. 422 ``invalid_payment_page_url`` for anything else.
    """
    if await service.update_organisation(svc.db, caller, organisation_id, data):
        await svc.origins.changed()
    return await service.organisation(db, organisation_id)


@post("/v1/organisations/{organisation_id:uuid}/booking-secrets", tags=["trust"], cache_control=NO_STORE)
async def create_secret(db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> schemas.SecretOut:
    """A new booking secret for a partner backend to sign booking tokens with (HS256, header ``kid`` = ``key_id``)."""
    return await service.create_secret(db, svc.verifier, caller, organisation_id)


@get("/v1/organisations/{organisation_id:uuid}/booking-secrets", tags=["trust"])
async def list_secrets(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> list[schemas.SecretInfo]:
    """The organisation's booking secrets, without their values."""
    return await service.list_secrets(db, caller, organisation_id)


@get("/v1/organisations/{organisation_id:uuid}/booking-secrets/{key_id:str}", tags=["trust"], cache_control=NO_STORE)
async def reveal_secret(
    db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], key_id: FromPath[str]
) -> schemas.SecretOut:
    """Reveal one secret's value again (an active one)."""
    return await service.reveal_secret(db, svc.verifier, caller, organisation_id, key_id)


@delete("/v1/organisations/{organisation_id:uuid}/booking-secrets/{key_id:str}", tags=["trust"])
async def revoke_secret(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID], key_id: FromPath[str]) -> None:
    """Revoke a secret: tokens under its ``kid`` fail on their next call, in every gateway process."""
    await service.revoke_secret(db, caller, organisation_id, key_id)


@post("/v1/sessions", tags=["trust"], cache_control=NO_STORE)
async def create_session(
    db: Db, svc: Svc, request: Request[Any, Any, Any], data: JSONBody[schemas.SessionIn]
) -> schemas.SessionOut:
    """An anonymous, short-lived patient session for the organisation's public booking page."""
    await svc.limiter.check("sessions", client_network(request), svc.settings.trust.sessions_per_address)
    return await service.create_session(db, svc.verifier, data.organisation_slug)


router = Router(
    path="/",
    route_handlers=[
        get_organisation, get_organisation_by_slug, update_organisation,
        create_secret, list_secrets, reveal_secret, revoke_secret, create_session, *staff_keys.handlers,
    ],
)  # fmt: skip
