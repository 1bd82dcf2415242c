"""``GET /v1/me``: who a bearer token is, so a page can tell which doctor or organisation it serves."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from litestar import Router, get

from gateway.deps import Caller


class MeOut(msgspec.Struct, frozen=True, kw_only=True):
    """The caller as the gateway sees them."""

    role: Literal["platform", "admin", "doctor", "patient"]
    organisation_id: uuid.UUID | None
    """``None`` for the platform operator, who belongs to no one organisation."""
    doctor_id: uuid.UUID | None
    """Set for a doctor's credential only."""


@get("/v1/me", tags=["trust"], security=[{"bearer": []}])
async def me(caller: Caller) -> MeOut:
    """The role, organisation and doctor of the bearer token (401 without a valid one)."""
    return MeOut(role=caller.role, organisation_id=caller.organisation_id, doctor_id=caller.doctor_id)


router = Router(path="/", route_handlers=[me])
