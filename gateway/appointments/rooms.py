"""Consultation rooms: one persistent room per doctor, entered only through ``/join``.

The room's address leaves the gateway only in the answer of ``GET /v1/appointments/{id}/join``
(design invariant 10): appointment bodies, lists and ``.ics`` files carry the gateway's own join
link instead. The room name is derived from the doctor's id with a key of its own (HKDF from
``GATEWAY_SECRET_KEY``), so it is stable and unguessable.

With a Jitsi app secret configured (``GATEWAY_JITSI_APP_ID`` / ``GATEWAY_JITSI_APP_SECRET``, the
same pair as the Jitsi deployment's token authentication), the address handed out carries a
signed room token (``?jwt=…``) naming the room, the user, whether they moderate (the doctor does)
and an expiry at the close of the join window: a room address seen once (a forwarded link, a
browser history) no longer opens the room after that window, and nobody enters without a token.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import jwt

from gateway.trust.crypto import derive


@dataclass(frozen=True, slots=True)
class RoomUser:
    """Who enters a room, as the room token names them."""

    id: str
    name: str
    moderator: bool


class Rooms:
    """Builds room names and room addresses.

    Args:
        secret_key: ``GATEWAY_SECRET_KEY``; the room names' key is derived from it for this purpose only.
        template: ``GATEWAY_MEETING_URL_TEMPLATE`` (``{room}``, ``{doctor_id}``).
        jitsi_app_id: the ``iss`` of room tokens; with ``jitsi_app_secret`` turns room tokens on.
        jitsi_app_secret: the key room tokens are signed with (HS256).
    """

    def __init__(
        self, secret_key: str, template: str, jitsi_app_id: str | None = None, jitsi_app_secret: str | None = None
    ) -> None:
        self._names_key = derive(secret_key, "meeting-rooms/v1")
        self.template = template
        self.jitsi_app_id = jitsi_app_id
        self.jitsi_app_secret = jitsi_app_secret

    def room(self, doctor_id: uuid.UUID) -> str:
        """The doctor's persistent room name part (``{room}``)."""
        return hmac.new(self._names_key, doctor_id.bytes, hashlib.sha256).hexdigest()[:24]

    def address(self, doctor_id: uuid.UUID, user: RoomUser, expires_at: datetime) -> str:
        """The room's address for ``user``, signed until ``expires_at`` when room tokens are on."""
        url = self.template.format(room=self.room(doctor_id), doctor_id=doctor_id)
        if not (self.jitsi_app_id and self.jitsi_app_secret):
            return url
        parts = urlsplit(url)
        room_name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        claims = {
            "aud": "jitsi",
            "iss": self.jitsi_app_id,
            "sub": parts.hostname or "*",
            "room": room_name,
            "exp": int(expires_at.timestamp()),
            "moderator": user.moderator,
            "context": {"user": {"id": user.id, "name": user.name, "moderator": user.moderator}},
        }
        token = jwt.encode(claims, self.jitsi_app_secret, algorithm="HS256")
        return f"{url}{'&' if parts.query else '?'}jwt={token}"
