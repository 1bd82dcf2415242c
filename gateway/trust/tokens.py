"""Patient tokens: gateway-signed anonymous sessions and partner-signed booking tokens (JWT HS256)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

import jwt

from gateway.errors import SecretUnreadable, Unauthorized
from gateway.trust.crypto import SecretBox, derive
from store import trust as repo
from store.types import Conn

SESSION_KID = "gateway-session"
SESSION_PREFIX = "session:"
PARTNER_PREFIX = "partner:"
"""Patient references are namespaced by issuer: a partner's ``sub`` is kept as ``partner:<sub>``, a
gateway session's as ``session:<uuid>``, so no partner token can claim a session's patient (a
``sub`` of ``session:…`` becomes ``partner:session:…``) and no session a partner's patient."""
SESSION_CACHE_SIZE = 20_000
"""Verified session tokens remembered per process (partner tokens are checked on every call:
their booking secret may be revoked at any moment)."""
ALGORITHM = "HS256"
MAX_KID_LENGTH = 64
MAX_SUB_LENGTH = 200
logger = logging.getLogger("gateway.trust")


@dataclass(frozen=True, slots=True)
class PatientClaims:
    """What a verified patient token says."""

    organisation_id: uuid.UUID
    patient_ref: str
    via: str  # "session" or "partner"
    key_id: str | None = None
    name: str | None = None
    email: str | None = None
    doctor_ids: frozenset[uuid.UUID] | None = None
    appointment_type_ids: frozenset[uuid.UUID] | None = None
    expires_at: int = 0


def rejected(code: str, detail: str) -> Unauthorized:
    return Unauthorized(detail, code=code)


class TokenVerifier:
    """Mints session tokens and verifies session and partner tokens.

    Args:
        secret_key: ``GATEWAY_SECRET_KEY``.
        session_ttl: lifetime of a session token, seconds.
        max_lifetime: the longest lifetime a partner token may claim, seconds.
        leeway: clock skew forgiven, seconds.
    """

    def __init__(self, secret_key: str, *, session_ttl: int, max_lifetime: int, leeway: int) -> None:
        self._session_key = derive(secret_key, "session-tokens/v1")
        self.box = SecretBox(secret_key)
        self.session_ttl = session_ttl
        self.max_lifetime = max_lifetime
        self.leeway = leeway
        self._sessions: dict[str, PatientClaims] = {}

    def mint_session(self, organisation_id: uuid.UUID) -> tuple[str, int]:
        """A new anonymous session for the public booking page; returns the token and its ``exp``."""
        now = int(time.time())
        exp = now + self.session_ttl
        claims = {"sub": f"{SESSION_PREFIX}{uuid.uuid4()}", "org": str(organisation_id), "iat": now, "exp": exp}
        token = jwt.encode(claims, self._session_key, algorithm=ALGORITHM, headers={"kid": SESSION_KID})
        return token, exp

    async def verify(self, db: Conn, token: str) -> PatientClaims:
        """Verify a patient token (session or partner).

        Raises:
            Unauthorized: with a code naming what is wrong (``token_invalid``, ``token_algorithm``,
                ``token_unknown_key``, ``token_revoked``, ``token_expired``, ``token_not_yet_valid``,
                ``token_missing_claim``, ``token_lifetime``, ``token_signature``).
        """
        known = self._sessions.get(token)
        if known is not None:
            # Our own session tokens are verified once per process: their signature and claims
            # cannot change, only the clock can expire them (checked here as PyJWT would).
            if known.expires_at + self.leeway < time.time():
                del self._sessions[token]
                raise rejected("token_expired", "The token has expired.")
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise rejected("token_invalid", "The bearer token is not a JWT.") from None
        if header.get("alg") != ALGORITHM:
            raise rejected("token_algorithm", f"Booking tokens are signed with {ALGORITHM}, not {header.get('alg')!r}.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise rejected("token_invalid", "The token's header names no kid (the booking secret's key_id).")
        if len(kid) > MAX_KID_LENGTH or not kid.isprintable():
            # never let it reach the database: a NUL cannot be sent to Postgres as text
            raise rejected("token_unknown_key", "The token's kid is not a booking secret's key_id.")
        if kid == SESSION_KID:
            claims = self._decode(token, self._session_key)
            try:
                organisation_id = uuid.UUID(str(claims.get("org")))
            except ValueError:
                raise rejected("token_invalid", "The session token names no organisation.") from None
            if not str(claims["sub"]).startswith(SESSION_PREFIX):
                raise rejected("token_invalid", "The session token names no session.")
            verified = PatientClaims(organisation_id, str(claims["sub"]), "session", expires_at=_int(claims["exp"]))
            if len(self._sessions) >= SESSION_CACHE_SIZE:
                del self._sessions[next(iter(self._sessions))]  # the oldest entry
            self._sessions[token] = verified
            return verified
        secret = await repo.get_secret(db, kid)
        if secret is None:
            raise rejected("token_unknown_key", f"No booking secret has key_id {kid!r}.")
        if secret.revoked_at is not None:
            raise rejected("token_revoked", f"The booking secret {kid!r} has been revoked.")
        try:
            key = self.box.open(kid, secret.ciphertext)
        except ValueError:
            logger.error(
                "booking secret %s no longer decrypts: GATEWAY_SECRET_KEY changed since it was created;"
                " revoke it and create a new one",
                kid,
            )
            raise SecretUnreadable(
                f"The booking secret {kid!r} cannot be read by this gateway; the clinic must replace it."
            ) from None
        claims = self._decode(token, key)
        lifetime = _int(claims["exp"]) - _int(claims.get("iat") or time.time())
        if lifetime > self.max_lifetime + self.leeway:
            raise rejected(
                "token_lifetime",
                f"Booking tokens may live {self.max_lifetime} s at most; this one claims {lifetime} s.",
            )
        return PatientClaims(
            organisation_id=secret.organisation_id,
            patient_ref=PARTNER_PREFIX + str(claims["sub"]),
            via="partner",
            key_id=kid,
            name=_text(claims.get("name")),
            email=_text(claims.get("email")),
            doctor_ids=_ids(claims.get("doctor_ids"), "doctor_ids"),
            appointment_type_ids=_ids(claims.get("appointment_type_ids"), "appointment_type_ids"),
            expires_at=_int(claims["exp"]),
        )

    def _decode(self, token: str, key: bytes | str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"], "verify_aud": False},
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise rejected("token_expired", "The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise rejected("token_not_yet_valid", "The token is not valid yet (nbf or iat in the future).") from None
        except jwt.MissingRequiredClaimError as exc:
            raise rejected("token_missing_claim", f"The token lacks the {exc.claim!r} claim.") from None
        except jwt.InvalidSignatureError:
            raise rejected("token_signature", "The token's signature does not match its key.") from None
        except jwt.InvalidTokenError as exc:
            raise rejected("token_invalid", f"The token is invalid: {exc}.") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise rejected("token_invalid", "The token's sub must be a non-empty string.")
        if len(sub) > MAX_SUB_LENGTH or not sub.isprintable():
            raise rejected(
                "token_invalid", f"The token's sub must be printable text of {MAX_SUB_LENGTH} characters at most."
            )
        return claims


def public_ref(ref: str | None) -> tuple[str | None, str | None]:
    """A stored patient reference as clients see it: ``(ref, issuer)``; a partner's own reference
    comes back without the namespace the gateway keeps it under."""
    if ref is None:
        return None, None
    if ref.startswith(PARTNER_PREFIX):
        return ref.removeprefix(PARTNER_PREFIX), "partner"
    return ref, "session" if ref.startswith(SESSION_PREFIX) else None


def stored_ref(ref: str) -> str:
    """The stored form of a reference a staff member filters by: a session's as given, else a partner's."""
    return ref if ref.startswith((SESSION_PREFIX, PARTNER_PREFIX)) else PARTNER_PREFIX + ref


def _int(value: object) -> int:
    # PyJWT has checked exp/iat are numbers
    return int(value) if isinstance(value, int | float) else 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _ids(value: object, name: str) -> frozenset[uuid.UUID] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise rejected("token_invalid", f"The {name} claim must be a list of ids.")
    try:
        return frozenset(uuid.UUID(str(v)) for v in value)
    except ValueError:
        raise rejected("token_invalid", f"The {name} claim holds something that is not an id.") from None
