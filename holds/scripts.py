"""The one registry of Redis scripts: every script is a Lua file of its package, called with named,
typed arguments and its keys, and answered with a typed result decoded in one place.

A :class:`Script` is declared once, next to the code that calls it::

    HOLD = Script("holds", "hold", HoldArgs, decode_hold, lib=True)

- its text is ``<package>/scripts/<name>.lua`` (``lib=True`` prepends ``holds/scripts/_lib.lua``);
- its arguments are a msgspec struct whose fields, in order, are the script's ``ARGV`` (the script
  names them in its ``-- ARGV:`` header and unpacks them in that order; a test compares the two;
  a last list field is spread);
- its keys are every key it touches, passed in ``KEYS`` (never built inside the script), so each
  call touches one hash slot and runs unchanged on Redis Cluster;
- ``decode`` turns Redis' reply into the script's result type; :meth:`Call.result` is the one
  place any script reply is read.

Calls go through :class:`holds.batch.Batcher` (``await batcher.run(HOLD.call(keys, args))``): a
plain ``EVALSHA``, loaded by the batcher only when Redis answers ``NOSCRIPT``. On a Redis Cluster
(``GATEWAY_REDIS_CLUSTER=on``) the batcher sends each script's sharded variant instead
(:attr:`Script.sharded_script`): the same text with the doctor's events published by ``SPUBLISH``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import msgspec

A = TypeVar("A", bound=msgspec.Struct)
R = TypeVar("R")

PUBLISH_LINE = "local PUBLISH = 'PUBLISH'"
"""The line of ``holds/scripts/_lib.lua`` that picks how events are published."""
SHARDED_PUBLISH_LINE = "local PUBLISH = 'SPUBLISH'"
"""What the sharded variant of a script says instead (Redis 7: sharded pub/sub)."""

REGISTRY: dict[str, Script[Any, Any]] = {}
"""Every script declared so far, by ``package/name`` (each module declares its own at import)."""


def package_script(package: str, name: str) -> str:
    """The text of ``<package>/scripts/<name>.lua``: every Redis script is a file of the package it
    belongs to, never a string in Python (a test keeps it so)."""
    return (resources.files(package) / "scripts" / f"{name}.lua").read_text(encoding="utf-8")


class Script(Generic[A, R]):
    """One Redis script: its file, its SHA, its argument struct and how its reply is read.

    Args:
        package: the package whose ``scripts/`` folder holds the file.
        name: the file's name without ``.lua``.
        args: the msgspec struct (``array_like=True``) whose fields are the script's ``ARGV``, in order.
        decode: reads Redis' reply into the script's result.
        lib: prepend the hold scripts' shared helpers (``holds/scripts/_lib.lua``).
    """

    __slots__ = ("args", "decode", "name", "script", "sha", "sharded_script", "sharded_sha")

    def __init__(
        self, package: str, name: str, args: type[A], decode: Callable[[Any], R], *, lib: bool = False
    ) -> None:
        text = package_script(package, name)
        if lib:
            text = package_script("holds", "_lib") + "\n" + text
        self.name = f"{package}/{name}"
        self.script = text
        self.sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
        """What ``EVALSHA`` names; the batcher sets it again from ``SCRIPT LOAD`` (the same value)."""
        if lib and text.count(PUBLISH_LINE) != 1:
            raise ValueError(f"holds/scripts/_lib.lua must say {PUBLISH_LINE!r} once")
        self.sharded_script = text.replace(PUBLISH_LINE, SHARDED_PUBLISH_LINE)
        """The text a Redis Cluster runs: the doctor's events go out on sharded pub/sub (the same
        text as :attr:`script` for a script that publishes nothing)."""
        self.sharded_sha = hashlib.sha1(self.sharded_script.encode(), usedforsecurity=False).hexdigest()
        self.args = args
        self.decode = decode
        if self.name in REGISTRY:
            raise ValueError(f"the script {self.name} is declared twice")
        REGISTRY[self.name] = self

    def call(self, keys: Sequence[str], args: A) -> Call[R]:
        """This script with these keys and arguments, ready for :meth:`holds.batch.Batcher.run`.

        A last field that is a list (a variable number of values, ``cells...`` in the header) is
        spread into ``ARGV``.
        """
        values = msgspec.structs.astuple(args)
        if values and isinstance(values[-1], list):
            values = (*values[:-1], *values[-1])
        return Call(self, keys, values)

    def __repr__(self) -> str:
        return f"Script({self.name!r})"


@dataclass(frozen=True, slots=True)
class Call(Generic[R]):
    """One script call: what to send, and how to read the answer."""

    script: Script[Any, R]
    keys: Sequence[str]
    args: tuple[Any, ...]

    def command(self) -> tuple[Any, ...]:
        """The call as a batcher command: ``(script, numkeys, *keys, *args)``, sent as ``EVALSHA``."""
        return (self.script, len(self.keys), *self.keys, *self.args)

    def result(self, reply: Any) -> R:
        """The script's typed result; an error Redis answered is raised here."""
        if isinstance(reply, Exception):
            raise reply
        return self.script.decode(reply)


# ---------------------------------------------------------------------------------------------
# The hold scripts (holds/scripts/*.lua). Each doctor script gets the doctor's keys first, in the
# order of _lib.lua's doctor_keys(): seq, replay log, holds (deadline index), spans (interval index).


class Announce(msgspec.Struct, array_like=True, frozen=True):
    """What every script that announces a slot event needs to know first."""

    channel: str
    log_max: int
    doctor_id: str


class HoldArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    hold_id: str
    token_hash: str
    ttl_ms: int
    history_ms: int
    start_iso: str
    end_iso: str
    start_ms: int
    block_ms: int
    type_id: str
    patient_ref: str


class Held(NamedTuple):
    seq: int
    deadline_ms: int


class Taken(NamedTuple):
    booked: str | None
    """``b:<appointment id>`` when an appointment's cell refused the hold (it may be stale)."""


class Cold(NamedTuple):
    """Redis lost the doctor's booked cells (flush, failover): warm them from Postgres first."""


def _decode_hold(reply: list[Any]) -> Held | Taken | Cold:
    if reply[0] == "ok":
        return Held(int(reply[1]), int(reply[2]))
    if reply[0] == "taken":
        return Taken(str(reply[1]) if len(reply) > 1 else None)
    return Cold()


class ReleaseArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    hold_id: str
    token_hash: str


class StaffReleaseArgs(msgspec.Struct, array_like=True, frozen=True):
    """A hold let go by the organisation's staff, without its token (the front desk)."""

    channel: str
    log_max: int
    doctor_id: str
    hold_id: str


class Outcome(NamedTuple):
    """A ``{status, detail}`` reply: ``detail`` is a sequence number, a status or an id, as the
    script's header says."""

    status: str
    detail: str | None = None


def _decode_outcome(reply: list[Any]) -> Outcome:
    return Outcome(str(reply[0]), str(reply[1]) if len(reply) > 1 else None)


class ConfirmBeginArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    hold_id: str
    token_hash: str
    grace_ms: int


class ConfirmEndArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    hold_id: str
    outcome: Literal["booked", "refused", "retry"]
    appointment_id: str
    block_ms: int


class ExpireArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str


class FreeArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    appointment_id: str
    start_iso: str
    end_iso: str


class ResyncArgs(msgspec.Struct, array_like=True, frozen=True):
    channel: str
    log_max: int
    doctor_id: str
    resync_channel: str


class SnapshotArgs(msgspec.Struct, array_like=True, frozen=True):
    from_ms: int
    to_ms: int


class SnapshotReply(NamedTuple):
    seq: int
    members: list[str]
    """Live holds near the range, each ``hold_id|start_iso|end_iso|start_ms|block_ms``."""


def _decode_snapshot(reply: list[Any]) -> SnapshotReply:
    return SnapshotReply(int(reply[0]), reply[1])


class WarmArgs(msgspec.Struct, array_like=True, frozen=True):
    warm_ttl_ms: int
    cells: list[str | int]
    """Per cell key after the first ``KEYS`` entry: its value, then its ``PXAT``."""


class DueRemoveArgs(msgspec.Struct, array_like=True, frozen=True):
    member: str
    score: float


HOLD = Script("holds", "hold", HoldArgs, _decode_hold, lib=True)
RELEASE = Script("holds", "release", ReleaseArgs, _decode_outcome, lib=True)
STAFF_RELEASE = Script("holds", "staff_release", StaffReleaseArgs, _decode_outcome, lib=True)
CONFIRM_BEGIN = Script("holds", "confirm_begin", ConfirmBeginArgs, _decode_outcome, lib=True)
CONFIRM_END = Script("holds", "confirm_end", ConfirmEndArgs, _decode_outcome, lib=True)
EXPIRE = Script("holds", "expire", ExpireArgs, _decode_outcome, lib=True)
FREE = Script("holds", "free", FreeArgs, _decode_outcome, lib=True)
RESYNC = Script("holds", "resync", ResyncArgs, _decode_outcome, lib=True)
SNAPSHOT = Script("holds", "snapshot", SnapshotArgs, _decode_snapshot, lib=True)
WARM = Script("holds", "warm", WarmArgs, int)
DUE_REMOVE = Script("holds", "due_remove", DueRemoveArgs, int)
