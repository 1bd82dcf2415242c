"""Signed "manage my booking" links: one appointment, no account, until the appointment is over.

A link's token is ``mng_`` + base64url(appointment id, expiry) + ``.`` + base64url(HMAC-SHA256),
keyed by a key of its own derived from ``GATEWAY_SECRET_KEY``. It opens only its appointment,
and stops at the close of the join window (60 minutes after the end), when there is nothing
left to manage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.trust.crypto import derive

PREFIX = "mng_"
PURPOSE = "manage-link-v1"
LIFETIME_AFTER_END = timedelta(minutes=60)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token opens: one appointment, until ``expires_at`` (epoch seconds)."""

    appointment_id: uuid.UUID
    expires_at: int


class LinkRejected(ValueError):
    """A token that opens nothing, and why: ``invalid`` (forged, mangled, not a manage token) or
    ``expired`` (genuine, but its appointment is over)."""

    def __init__(self, reason: Literal["invalid", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


class ManageLinks:
    """Mints and checks manage tokens with the process's secret key."""

    def __init__(self, secret_key: str, public_url: str) -> None:
        self._key = derive(secret_key, PURPOSE)
        self.public_url = public_url

    def token(self, appointment_id: uuid.UUID, ends_at: datetime) -> str:
        expires = int((ends_at + LIFETIME_AFTER_END).timestamp())
        body = appointment_id.bytes + struct.pack(">Q", expires)
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:20]
        return f"{PREFIX}{_b64(body)}.{_b64(mac)}"

    def url(self, appointment_id: uuid.UUID, ends_at: datetime) -> str:
        """The page a patient manages this appointment on."""
        return f"{self.public_url}/manage/{self.token(appointment_id, ends_at)}"

    def check(self, token: str, now: float | None = None) -> uuid.UUID | None:
        """The appointment a token opens, or ``None`` (forged, mangled or expired)."""
        try:
            return self.verify(token, now).appointment_id
        except LinkRejected:
            return None

    def verify(self, token: str, now: float | None = None) -> Grant:
        """What a token opens.

        Raises:
            LinkRejected: ``invalid`` for a forged, mangled or foreign token; ``expired`` for a genuine
                one whose appointment is over (only the holder of a once-valid link learns this).
        """
        if not token.startswith(PREFIX) or len(token) > 200:
            raise LinkRejected("invalid")
        body_text, _, mac_text = token[len(PREFIX) :].partition(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise LinkRejected("invalid") from None
        if len(body) != 24 or _b64(body) != body_text or _b64(mac) != mac_text:
            # canonical text only: the decoder skips stray characters, and one link has one spelling
            raise LinkRejected("invalid")
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:20]
        if not hmac.compare_digest(mac, expected):
            raise LinkRejected("invalid")
        (expires,) = struct.unpack(">Q", body[16:])
        if (time.time() if now is None else now) >= expires:
            raise LinkRejected("expired")
        return Grant(uuid.UUID(bytes=body[:16]), expires)
