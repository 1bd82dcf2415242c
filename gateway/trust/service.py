"""What the trust routes decide: who may hand out or take back a key, and what each answer holds.

Booking secrets are sealed at rest (``TokenVerifier.box``) and revealed only to the
organisation's admins; staff keys (``gk_…``, ``gd_…``) are stored as hashes and shown once. The
routes (``endpoints.py``, ``staff_keys.py``) only read the request and call these.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import urllib.parse
import uuid
from datetime import UTC, datetime

from msgspec import UnsetType

from gateway.auth import Principal
from gateway.clinic import service as clinic_service
from gateway.clinic.service import allow, doctor
from gateway.errors import Conflict, InvalidPaymentPage, NotFound, SecretUnreadable, ValidationFailed
from gateway.trust import schemas
from gateway.trust.crypto import fingerprint, new_token
from gateway.trust.tokens import TokenVerifier
from store import clinic as clinic_repo
from store import trust as repo
from store.models import Organisation
from store.trust import ApiKey, BookingSecret, DoctorCredential
from store.types import Conn, Pool

logger = logging.getLogger("gateway.trust")


async def organisation(db: Conn, organisation_id: uuid.UUID) -> Organisation:
    found = await clinic_repo.get_organisation(db, organisation_id)
    if found is None:
        raise NotFound(f"Organisation {organisation_id} not found.")
    return found


async def organisation_by_slug(db: Conn, who: Principal, slug: str) -> Organisation:
    """404 when no organisation has the slug; 403 unless ``who`` administers it (or is the platform)."""
    found = await clinic_repo.get_organisation_by_slug(db, slug)
    if found is None:
        raise NotFound(f"No organisation has slug {slug!r}.")
    allow(who.administers(found.id))
    return found


async def update_organisation(
    db: Pool, who: Principal, organisation_id: uuid.UUID, patch: schemas.OrganisationPatch
) -> bool:
    """Apply ``patch`` (every field or none); True when the allowed origins changed."""
    allow(who.administers(organisation_id))
    async with db.acquire() as conn:
        current = await organisation(conn, organisation_id)
    admin_emails, threshold = clinic_service.organisation_notices(
        current,
        None if isinstance(patch.admin_emails, UnsetType) else patch.admin_emails,
        None if isinstance(patch.low_rating_threshold, UnsetType) else patch.low_rating_threshold,
    )
    origins = None if isinstance(patch.allowed_origins, UnsetType) else patch.allowed_origins
    payment_page = patch.payment_page_url
    if isinstance(payment_page, str):
        payment_page_problem(payment_page)
    async with db.acquire() as conn, conn.transaction():
        if origins is not None:
            await repo.set_origins(conn, organisation_id, sorted(set(origins)))
        await clinic_repo.set_organisation_notices(conn, organisation_id, admin_emails, threshold)
        if not isinstance(payment_page, UnsetType):
            await clinic_repo.set_payment_page(conn, organisation_id, payment_page)
    return origins is not None


def payment_page_problem(url: str) -> None:
    """Refuse a payment page the booking page must not open: not absolute, not https (plain http only to
    this machine, for development), or carrying a user name or password (they would show in the window).

    Raises:
        InvalidPaymentPage: (422 ``invalid_payment_page_url``) saying which.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidPaymentPage("payment_page_url must be an absolute https address, like https://pay.example/clinic.")
    if parts.scheme == "http" and not loopback:
        raise InvalidPaymentPage("payment_page_url must use https (plain http only to this machine, for development).")
    if parts.username is not None or parts.password is not None:
        raise InvalidPaymentPage("payment_page_url must not carry a user name or password.")


# --- booking secrets ------------------------------------------------------------------------------


def secret_info(secret: BookingSecret) -> schemas.SecretInfo:
    return schemas.SecretInfo(
        key_id=secret.key_id,
        organisation_id=secret.organisation_id,
        active=secret.revoked_at is None,
        created_at=secret.created_at,
        revoked_at=secret.revoked_at,
    )


async def create_secret(
    db: Conn, verifier: TokenVerifier, who: Principal, organisation_id: uuid.UUID
) -> schemas.SecretOut:
    allow(who.administers(organisation_id))
    await organisation(db, organisation_id)
    key_id = f"bk_{secrets.token_hex(8)}"
    value = secrets.token_urlsafe(32)
    stored = await repo.create_secret(db, key_id, organisation_id, verifier.box.seal(key_id, value))
    return schemas.SecretOut(key_id=key_id, organisation_id=organisation_id, secret=value, created_at=stored.created_at)


async def list_secrets(db: Conn, who: Principal, organisation_id: uuid.UUID) -> list[schemas.SecretInfo]:
    allow(who.administers(organisation_id))
    return [secret_info(s) for s in await repo.list_secrets(db, organisation_id)]


async def _secret(db: Conn, organisation_id: uuid.UUID, key_id: str) -> BookingSecret:
    found = await repo.get_secret(db, key_id)
    if found is None or found.organisation_id != organisation_id:
        raise NotFound(f"No booking secret {key_id!r} in this organisation.")
    return found


async def reveal_secret(
    db: Conn, verifier: TokenVerifier, who: Principal, organisation_id: uuid.UUID, key_id: str
) -> schemas.SecretOut:
    allow(who.administers(organisation_id))
    found = await _secret(db, organisation_id, key_id)
    if found.revoked_at is not None:
        raise Conflict(f"The booking secret {key_id!r} is revoked.", code="secret_revoked")
    try:
        value = verifier.box.open(key_id, found.ciphertext)
    except ValueError:
        logger.error("booking secret %s no longer decrypts: GATEWAY_SECRET_KEY changed since it was created", key_id)
        raise SecretUnreadable(
            f"The booking secret {key_id!r} cannot be decrypted with this gateway's key;"
            " revoke it and create a new one."
        ) from None
    return schemas.SecretOut(key_id=key_id, organisation_id=organisation_id, secret=value, created_at=found.created_at)


async def revoke_secret(db: Conn, who: Principal, organisation_id: uuid.UUID, key_id: str) -> None:
    allow(who.administers(organisation_id))
    await _secret(db, organisation_id, key_id)
    await repo.revoke_secret(db, key_id, organisation_id)


async def create_session(db: Conn, verifier: TokenVerifier, organisation_slug: str) -> schemas.SessionOut:
    found = await clinic_repo.get_organisation_by_slug(db, organisation_slug)
    if found is None:
        raise NotFound(f"No organisation has slug {organisation_slug!r}.")
    token, exp = verifier.mint_session(found.id)
    return schemas.SessionOut(token=token, expires_at=datetime.fromtimestamp(exp, tz=UTC), organisation_id=found.id)


# --- staff keys -----------------------------------------------------------------------------------


def _expiry(body: schemas.KeyIn | None) -> datetime | None:
    if body is None or body.expires_at is None:
        return None
    if body.expires_at.tzinfo is None:
        raise ValidationFailed("expires_at: add an offset or Z", field="expires_at")
    if body.expires_at <= datetime.now(UTC):
        raise ValidationFailed("expires_at: must be in the future", field="expires_at")
    return body.expires_at


def key_info(key: ApiKey | DoctorCredential) -> schemas.KeyInfo:
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


async def create_api_key(db: Conn, organisation_id: uuid.UUID, body: schemas.KeyIn | None) -> schemas.ApiKeyOut:
    """A new admin key (the route is for the platform operator only); its value is in this answer only."""
    await organisation(db, organisation_id)
    key = new_token("gk")
    stored = await repo.create_api_key(db, organisation_id, fingerprint(key), _expiry(body))
    return schemas.ApiKeyOut(
        id=stored.id, organisation_id=organisation_id, key=key, created_at=stored.created_at,
        expires_at=stored.expires_at,
    )  # fmt: skip


async def list_api_keys(db: Conn, organisation_id: uuid.UUID) -> list[schemas.KeyInfo]:
    await organisation(db, organisation_id)
    return [key_info(k) for k in await repo.list_api_keys(db, organisation_id)]


async def revoke_api_key(db: Conn, organisation_id: uuid.UUID, key_id: uuid.UUID) -> None:
    if await repo.revoke_api_key(db, key_id, organisation_id) is None:
        raise NotFound(f"No admin key {key_id} in this organisation.")


async def _doctor_of_admin(db: Conn, who: Principal, doctor_id: uuid.UUID, what: str) -> None:
    found = await doctor(db, doctor_id)
    allow(who.administers(found.organisation_id), f"Only the organisation's admins may {what} doctor credentials.")


async def create_credential(
    db: Conn, who: Principal, doctor_id: uuid.UUID, body: schemas.KeyIn | None
) -> schemas.CredentialOut:
    await _doctor_of_admin(db, who, doctor_id, "issue")
    token = new_token("gd")
    stored = await repo.create_credential(db, doctor_id, fingerprint(token), _expiry(body))
    return schemas.CredentialOut(
        id=stored.id, doctor_id=doctor_id, token=token, created_at=stored.created_at, expires_at=stored.expires_at
    )


async def list_credentials(db: Conn, who: Principal, doctor_id: uuid.UUID) -> list[schemas.KeyInfo]:
    await _doctor_of_admin(db, who, doctor_id, "list")
    return [key_info(c) for c in await repo.list_credentials(db, doctor_id)]


async def revoke_credential(db: Conn, who: Principal, doctor_id: uuid.UUID, credential_id: uuid.UUID) -> None:
    await _doctor_of_admin(db, who, doctor_id, "revoke")
    if await repo.revoke_credential(db, credential_id, doctor_id) is None:
        raise NotFound(f"No credential {credential_id} for this doctor.")
