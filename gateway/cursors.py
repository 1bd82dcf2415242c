"""Keyset cursors for paged lists: ``(instant, tie-breaker)`` as opaque URL-safe text.

Lists page by an instant (start, creation) and a unique key that orders equal instants. A forged or
mangled cursor is 422 ``invalid_cursor``, and its instant is held to the same calendar bounds as any
other instant the API takes.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from gateway.errors import ValidationFailed
from gateway.timeutil import within_range


def _refused() -> ValidationFailed:
    return ValidationFailed("cursor: not a cursor this gateway gave out", code="invalid_cursor")


def encode(moment: datetime, key: uuid.UUID | int) -> str:
    raw = json.dumps([moment.isoformat(), key if isinstance(key, int) else str(key)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, object]:
    try:
        moment_text, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(moment_text)
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise _refused() from None
    if moment.tzinfo is None:
        raise _refused()
    return within_range(moment, "cursor"), key


def decode_uuid(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor whose tie-breaker is an id."""
    moment, key = _decode(cursor)
    if not isinstance(key, str):
        raise _refused()
    try:
        return moment, uuid.UUID(key)
    except ValueError:
        raise _refused() from None


def decode_int(cursor: str) -> tuple[datetime, int]:
    """A cursor whose tie-breaker is a positive 64-bit integer (a row number)."""
    moment, key = _decode(cursor)
    if isinstance(key, bool) or not isinstance(key, int) or not 0 < key < 2**63:
        raise _refused()
    return moment, key
