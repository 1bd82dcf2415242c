"""Key and channel names. Every key of one doctor carries the hash tag ``{doctor_id}``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

CELL_MS = 5 * 60 * 1000
"""Holds take time in 5-minute cells; durations, buffers and window edges are multiples of 5."""

CLUSTER_DUE_SHARDS = 16
"""Shards of the sweeper's deadline index on a Redis Cluster: enough that they spread over the
primaries, few enough that a sweep (one read per shard) stays cheap. Every process of a deployment
must agree on it: an entry in a shard the sweepers do not walk would never be swept."""


@dataclass(frozen=True, slots=True)
class Keys:
    """Names under one prefix (``GATEWAY_REDIS_PREFIX``)."""

    prefix: str
    due_shards: int = 1
    """How many keys the sweeper's deadline index is split into: 1 (the key :attr:`due`) on one
    Redis, :data:`CLUSTER_DUE_SHARDS` on a cluster."""

    def base(self, doctor_id: uuid.UUID | str) -> str:
        """``P:{doctor}:``, the start of every key of that doctor."""
        return f"{self.prefix}:{{{doctor_id}}}:"

    def hold(self, doctor_id: uuid.UUID | str, hold_id: uuid.UUID | str) -> str:
        return f"{self.base(doctor_id)}hold:{hold_id}"

    def holds(self, doctor_id: uuid.UUID | str) -> str:
        return f"{self.base(doctor_id)}holds"

    def spans(self, doctor_id: uuid.UUID | str) -> str:
        """The doctor's live holds by start (the interval index ``/slots`` reads for a range)."""
        return f"{self.base(doctor_id)}spans"

    def longest_span(self, doctor_id: uuid.UUID | str) -> str:
        """The longest ``block_ms - start_ms`` the doctor ever held: how far before a range a hold
        may start and still reach into it."""
        return f"{self.base(doctor_id)}spanmax"

    def seq(self, doctor_id: uuid.UUID | str) -> str:
        return f"{self.base(doctor_id)}seq"

    def log(self, doctor_id: uuid.UUID | str) -> str:
        return f"{self.base(doctor_id)}log"

    def warm(self, doctor_id: uuid.UUID | str) -> str:
        return f"{self.base(doctor_id)}warm"

    def cells(self, doctor_id: uuid.UUID | str, start_ms: int, block_ms: int) -> list[str]:
        base = self.base(doctor_id)
        return [f"{base}cell:{n}" for n in cell_numbers(start_ms, block_ms)]

    def channel(self, doctor_id: uuid.UUID | str) -> str:
        """The pub/sub channel of one doctor's slot events."""
        return f"{self.prefix}:ev:{{{doctor_id}}}"

    def resync_channel(self) -> str:
        """The deployment-wide channel that repeats every ``resync`` event (not hash-tagged: one per
        deployment), so every process forgets its cached schedule of a doctor it does not follow."""
        return f"{self.prefix}:resync"

    @property
    def due(self) -> str:
        """The global index of hold deadlines the sweeper walks (not hash-tagged: one per deployment)."""
        return f"{self.prefix}:due"

    def due_shard(self, doctor_id: uuid.UUID | str) -> str:
        """The deadline index shard a doctor's holds are filed in by default: :attr:`due` when
        there is one.

        On a cluster each shard is a key of its own hash tag (``P:due:{3}``), so the shards spread
        over the primaries; entries are plain ``ZADD`` commands sent beside a hold's script, never
        written inside it (a script touches the doctor's slot only). Any shard will do (a sweep
        walks them all): the hold engine files an entry in the first of :meth:`due_shards_for`
        that lives on the doctor's own primary, so a hold depends on one node only.
        """
        if self.due_shards == 1:
            return self.due
        return self._due_shard(zlib.crc32(str(doctor_id).encode()) % self.due_shards)

    def due_shards_for(self, doctor_id: uuid.UUID | str) -> list[str]:
        """Every shard, starting with the doctor's :meth:`due_shard` (the order a filer tries them)."""
        first = zlib.crc32(str(doctor_id).encode()) % self.due_shards
        return [self._due_shard((first + n) % self.due_shards) for n in range(self.due_shards)]

    def _due_shard(self, number: int) -> str:
        return self.due if self.due_shards == 1 else f"{self.prefix}:due:{{{number}}}"

    def due_keys(self) -> list[str]:
        """Every shard of the deadline index (what one sweep walks)."""
        return [self._due_shard(n) for n in range(self.due_shards)]


def cell_numbers(start_ms: int, block_ms: int) -> Iterable[int]:
    """The cells ``[start_ms, block_ms)`` covers."""
    return range(start_ms // CELL_MS, -(-block_ms // CELL_MS))


def new_hold_token(doctor_id: uuid.UUID) -> str:
    """A fresh hold token. It carries the doctor's id so the hold is found in one round trip."""
    raw = doctor_id.bytes + secrets.token_bytes(24)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def token_doctor(token: str) -> uuid.UUID | None:
    """The doctor a hold token belongs to, or ``None`` for something that is not a hold token."""
    if len(token) != 54:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 40:
        return None
    return uuid.UUID(bytes=raw[:16])


def token_hash(token: str) -> str:
    """What Redis keeps instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()
