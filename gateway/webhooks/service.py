"""Webhook subscriptions: what an organisation may subscribe to, and the signing secrets.

A subscription names a URL, the event types it wants and headers of its own; its signing secret
(Standard Webhooks ``whsec_…``) is shown once at creation and kept sealed at rest. Delivery
(signing, retries, disabling a failing subscription) is the outbox worker's
``gateway.notify.webhooks`` channel.
"""

from __future__ import annotations

import base64
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.trust.crypto import derive
from store import outbox

INTERNAL_EVENTS = frozenset({"webhook.disabled"})
"""Outbox events for the organisation's admins only: never sent to a webhook."""
EVENT_TYPES = tuple(t for t in outbox.EVENT_TYPES if t not in INTERNAL_EVENTS)
"""What a subscription may ask for."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and the base64 of 32 random bytes (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def message_id(delivery_message_id: uuid.UUID) -> str:
    """The ``webhook-id`` of a message: stable across retries and replays."""
    return f"msg_{delivery_message_id}"


class WebhookSecrets:
    """Signing secrets sealed at rest (AES-GCM under a key of their own derived from
    ``GATEWAY_SECRET_KEY``), each bound to its subscription's id."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(derive(secret_key, "webhook-secrets/v1"))

    def seal(self, webhook_id: uuid.UUID, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), str(webhook_id).encode())

    def open(self, webhook_id: uuid.UUID, sealed: bytes) -> str:
        """Raises:
        ValueError: not sealed for this subscription with this gateway's key."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], str(webhook_id).encode()).decode()
        except InvalidTag:
            raise ValueError(f"webhook {webhook_id}: secret cannot be decrypted with GATEWAY_SECRET_KEY") from None
