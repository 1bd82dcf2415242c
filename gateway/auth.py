"""Who is calling, and what they may touch (design invariant 8).

Bearer tokens, told apart by their shape:

* the platform operator's token (``GATEWAY_ADMIN_TOKEN``): everything, every organisation;
* ``gk_…``: an organisation admin's API key;
* ``gd_…``: a doctor's credential;
* a JWT: a patient, through a gateway session (``kid`` = ``gateway-session``) or a partner's
  booking token (``kid`` = one of the organisation's booking secrets).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from gateway.errors import Forbidden, Unauthorized
from gateway.state import services_of
from gateway.trust.crypto import fingerprint
from gateway.trust.tokens import PatientClaims, TokenVerifier
from store import trust as repo
from store.types import Conn

Role = Literal["platform", "admin", "doctor", "patient"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    role: Role
    organisation_id: uuid.UUID | None = None  # None only for the platform operator
    doctor_id: uuid.UUID | None = None
    patient: PatientClaims | None = None

    @property
    def actor(self) -> str:
        """How the history names this caller: patient, partner, doctor, admin or platform."""
        if self.patient is not None:
            return "partner" if self.patient.via == "partner" else "patient"
        return self.role

    @property
    def patient_ref(self) -> str | None:
        return self.patient.patient_ref if self.patient else None

    def is_staff_of(self, organisation_id: uuid.UUID) -> bool:
        """Platform, or an admin or doctor of this organisation."""
        return self.role == "platform" or (self.role in ("admin", "doctor") and self.organisation_id == organisation_id)

    def administers(self, organisation_id: uuid.UUID) -> bool:
        return self.role == "platform" or (self.role == "admin" and self.organisation_id == organisation_id)

    def manages_doctor(self, organisation_id: uuid.UUID, doctor_id: uuid.UUID) -> bool:
        """Admins of the doctor's organisation, and the doctor themself."""
        return self.administers(organisation_id) or (self.role == "doctor" and self.doctor_id == doctor_id)


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer token of a request, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    """Turns a bearer token into a :class:`Principal`."""

    def __init__(self, db: Conn, admin_token: str | None, verifier: TokenVerifier) -> None:
        self.db = db
        self.admin_token = admin_token
        self.verifier = verifier

    async def resolve(self, token: str) -> Principal:
        """Authenticate ``token``.

        Raises:
            Unauthorized: for a token that is unknown, revoked, expired or malformed.
        """
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Principal("platform")
        if token.startswith("gk_"):
            key = await repo.api_key_by_hash(self.db, fingerprint(token))
            if key is None:
                raise Unauthorized("Unknown or revoked API key.", code="unknown_key")
            return Principal("admin", organisation_id=key.organisation_id)
        if token.startswith("gd_"):
            credential = await repo.credential_by_hash(self.db, fingerprint(token))
            if credential is None:
                raise Unauthorized("Unknown or revoked doctor credential.", code="unknown_key")
            return Principal("doctor", organisation_id=credential.organisation_id, doctor_id=credential.doctor_id)
        claims = await self.verifier.verify(self.db, token)
        return Principal("patient", organisation_id=claims.organisation_id, patient=claims)


async def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller of a request (``None`` when it carries no bearer token); cached per request."""
    cached = connection.scope.get("state", {}).get("principal")
    if isinstance(cached, Principal):
        return cached
    token = bearer(connection)
    if token is None:
        return None
    found = await services_of(connection).auth.resolve(token)
    connection.scope.setdefault("state", {})["principal"] = found
    return found


async def require_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    found = await principal_of(connection)
    if found is None:
        raise Unauthorized("This route needs Authorization: Bearer <token>.")
    return found


def require_platform(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the platform operator's token (``GATEWAY_ADMIN_TOKEN``), checked without a database."""
    token = bearer(connection)
    if token is None:
        raise Unauthorized("This route needs Authorization: Bearer <token>.")
    expected = connection.app.state.settings.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("Only the platform operator may do this.")


# Kept for the routes written before organisation admins existed.
require_admin = require_platform
