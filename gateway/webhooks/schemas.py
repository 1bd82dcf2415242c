"""Bodies of the webhook routes, and the rules a subscription's event types and headers follow."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from gateway.errors import ValidationFailed
from gateway.webhooks.service import EVENT_TYPES

Url = Annotated[
    str, Meta(min_length=8, max_length=2000, description="https://… (http only with GATEWAY_WEBHOOK_ALLOW_PRIVATE=on)")
]
EventTypes = Annotated[list[str], Meta(min_length=1, max_length=20, description=" | ".join(EVENT_TYPES))]
Headers = Annotated[dict[str, str], Meta(description="sent with every delivery, e.g. Authorization")]
Description = Annotated[str, Meta(max_length=500)]

MAX_HEADERS = 10
MAX_HEADER_VALUE = 1024
MAX_HEADERS_SIZE = 4096
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
"""A header name (RFC 9110 token)."""
VALUE = re.compile(r"^[\x20-\x7e\t]*$")
"""Visible ASCII, spaces and tabs: no line breaks that could smuggle a header or a request in."""
REFUSED_HEADERS = frozenset({
    # hop-by-hop: they speak of one connection, not of the message
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade",
    # framing and routing: the gateway sets them, a different value would corrupt the request
    "host", "content-length", "content-type", "content-encoding", "expect", "user-agent",
})  # fmt: skip
"""Names a subscription may not set; nor ``webhook-*``, the signature's own. ``Authorization`` is
allowed: partners' receivers commonly want a bearer token or basic credentials."""
SENSITIVE = re.compile(r"auth|token|secret|key|password|session|signature|cookie", re.IGNORECASE)
HIDDEN = "********"


def check_event_types(event_types: list[str]) -> list[str]:
    """The event types, each once, in the order given.

    Raises:
        ValidationFailed: ``unknown_event_type``, naming the ones that are.
    """
    unknown = sorted({t for t in event_types if t not in EVENT_TYPES})
    if unknown:
        raise ValidationFailed(
            f"event_types: unknown {', '.join(unknown)}; one of {', '.join(EVENT_TYPES)}",
            code="unknown_event_type",
            field="event_types",
        )
    return list(dict.fromkeys(event_types))


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """The custom headers, if each may be sent.

    Raises:
        ValidationFailed: ``too_many_headers`` or ``invalid_header``.
    """
    if len(headers) > MAX_HEADERS:
        raise ValidationFailed(f"headers: at most {MAX_HEADERS}", code="too_many_headers", field="headers")
    if sum(len(k) + len(v) for k, v in headers.items()) > MAX_HEADERS_SIZE:
        raise ValidationFailed(
            f"headers: at most {MAX_HEADERS_SIZE} characters together", code="too_many_headers", field="headers"
        )
    seen: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        why = None
        if not TOKEN.match(name):
            why = "not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 64)"
        elif lower in REFUSED_HEADERS or lower.startswith("webhook-"):
            why = "set by the gateway itself"
        elif lower in seen:
            why = "given twice"
        elif len(value) > MAX_HEADER_VALUE or not VALUE.match(value):
            why = f"the value must be visible ASCII, at most {MAX_HEADER_VALUE} characters, without line breaks"
        if why is not None:
            raise ValidationFailed(f"headers: {name[:64]!r}: {why}", code="invalid_header", field="headers")
        seen.add(lower)
    return dict(headers)


def shown_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as listings show them: values of credential-like headers hidden (shown once, on create)."""
    return {k: HIDDEN if SENSITIVE.search(k) else v for k, v in headers.items()}


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Url
    event_types: EventTypes
    headers: Headers = msgspec.field(default_factory=dict)
    description: Description | None = None


class WebhookPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to change; ``headers`` replaces them all; ``enabled: true`` also clears the failure record."""

    url: Url | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    headers: Headers | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET


class WebhookOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    event_types: list[str]
    headers: dict[str, str]
    """Values of credential-like headers (Authorization, …-Token, …) are hidden, except on create."""
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    """Since when every delivery has failed (``None``: the last one succeeded)."""
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut, frozen=True, kw_only=True):
    secret: str
    """``whsec_…``: verifies the ``webhook-signature`` header. Shown only here."""


class DeliveryOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    event_type: str
    message_id: str
    """The ``webhook-id`` header it is sent with: the same on every attempt and replay."""
    status: str
    """``pending``, ``delivered`` or ``dead`` (no attempt succeeded; replay it)."""
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    """When the next attempt is due (pending deliveries only)."""
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str = "pending"
    after_attempt_under_way: bool
    """An attempt was in progress: the replay is sent once it has finished."""
