"""Opaque event ids of a several-doctor stream: every followed doctor's last ``seq`` in one token.

A browser sends back only the last ``id`` it saw (``Last-Event-ID``), so on a stream that mixes
doctors that one id must say where the client is for each of them.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping

PREFIX = "c1."


def encode(positions: Mapping[str, int]) -> str:
    """A cursor for ``{doctor_id: last seq}``."""
    text = ",".join(f"{uuid.UUID(doctor).hex}:{seq}" for doctor, seq in sorted(positions.items()))
    return PREFIX + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> dict[str, int]:
    """The positions a cursor carries.

    Raises:
        ValueError: for anything :func:`encode` did not make.
    """
    if not cursor.startswith(PREFIX) or len(cursor) > 4096:
        raise ValueError("not an event cursor")
    body = cursor[len(PREFIX) :]
    try:
        text = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not an event cursor") from None
    positions: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        doctor, _, seq = part.partition(":")
        try:
            doctor_id, position = str(uuid.UUID(hex=doctor)), int(seq)
        except ValueError:
            raise ValueError("not an event cursor") from None
        if position < 0:
            raise ValueError("not an event cursor")
        positions[doctor_id] = position
    return positions
