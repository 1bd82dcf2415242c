"""Who is calling, and what they may touch (design invariant 8).

Bearer tokens, told apart by their shape:

* the platform operator's token (``GATEWAY_ADMIN_TOKEN``): everything, every organisation;
* ``gk_…``: an organisation admin's API key;
* ``gd_…``: a doctor's credential;
* a JWT: a patient, through a gateway session (``kid`` = ``gateway-session``) or a partner's
  booking token (``kid`` = one of the organisation's booking secrets);
* ``mng_…``: a "manage my booking" link (``gateway/notify/links.py``): the patient of one
  appointment, and of nothing else (see :meth:`Authenticator.manage`).
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from gateway.errors import Forbidden, Unauthorized
from gateway.notify.links import PREFIX as MANAGE_PREFIX
from gateway.notify.links import LinkRejected, ManageLinks
from gateway.state import services_of
from gateway.timeutil import show
from gateway.trust.crypto import fingerprint
from gateway.trust.tokens import PatientClaims, TokenVerifier
from store import appointments as appointments_repo
from store import clinic as clinic_repo
from store import trust as repo
from store.types import Conn

MANAGE_REF_PREFIX = "manage:"
"""The patient reference of a manage link (``manage:<appointment id>``): its holds are its own, and
no stored appointment carries it (a reschedule keeps the appointment's own reference)."""

Role = Literal["platform", "admin", "doctor", "patient"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    role: Role
    organisation_id: uuid.UUID | None = None  # None only for the platform operator
    doctor_id: uuid.UUID | None = None
    patient: PatientClaims | None = None
    appointment_id: uuid.UUID | None = None
    """Set for a manage link: the one appointment it may see and change; it lists and books nothing."""

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

    def __init__(self, db: Conn, admin_token: str | None, verifier: TokenVerifier, links: ManageLinks) -> None:
        self.db = db
        self.admin_token = admin_token
        self.verifier = verifier
        self.links = links

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
        if token.startswith(MANAGE_PREFIX):
            return await self.manage(token)
        claims = await self.verifier.verify(self.db, token)
        return Principal("patient", organisation_id=claims.organisation_id, patient=claims)

    async def manage(self, token: str) -> Principal:
        """The patient of the one appointment a manage link opens.

        The principal is a patient (every patient rule applies: the cancellation notice, the
        reschedule limit) whose reference is the link's own, so it matches no stored appointment
        and no hold but its own; ``appointment_id`` confines it to that appointment. It may hold
        only the appointment's type, and only its doctor when the type is rebooked with the same
        doctor: holds it takes serve to move the appointment.

        Raises:
            Unauthorized: ``manage_link_invalid`` (forged, mangled, or its appointment is gone),
                ``manage_link_expired`` (the appointment is over), ``manage_link_moved`` (the
                appointment was moved: ``moved_to`` says when the newest appointment is; its own
                link is in the email about the move, and in the answer of the move).
        """
        invalid = Unauthorized("This link is not a valid link to manage a booking.", code="manage_link_invalid")
        try:
            grant = self.links.verify(token)
        except LinkRejected as exc:
            if exc.reason == "expired":
                raise Unauthorized(
                    "This link has expired: the appointment is over.", code="manage_link_expired"
                ) from None
            raise invalid from None
        a = await appointments_repo.get(self.db, grant.appointment_id)
        if a is None:
            raise invalid
        if a.status == "rescheduled":
            newest = await appointments_repo.latest_successor(self.db, a.id)
            moved_to = (
                {
                    "start": show(newest.starts_at, None),
                    "end": show(newest.ends_at, None),
                    "status": newest.status,
                    "timezone": newest.patient_timezone,
                }
                if newest is not None
                else None
            )
            raise Unauthorized(
                "This appointment was moved; use the link sent for the new time.",
                code="manage_link_moved",
                moved_to=moved_to,
            )
        appointment_type = await clinic_repo.get_type(self.db, a.appointment_type_id)
        any_doctor = appointment_type is not None and appointment_type.rebooking_mode == "any_doctor"
        claims = PatientClaims(
            organisation_id=a.organisation_id,
            patient_ref=f"{MANAGE_REF_PREFIX}{a.id}",
            via="manage",
            name=a.patient_name,
            email=a.patient_email,
            doctor_ids=None if any_doctor else frozenset({a.doctor_id}),
            appointment_type_ids=frozenset({a.appointment_type_id}),
            expires_at=grant.expires_at,
        )
        return Principal("patient", organisation_id=a.organisation_id, patient=claims, appointment_id=a.id)


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
