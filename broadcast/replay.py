"""Resume: what a client missed, from the per-doctor replay log the hold scripts keep.

Every hold script INCRs ``P:{doctor}:seq`` and LPUSHes the event to ``P:{doctor}:log`` (newest
first, trimmed to ``GATEWAY_REPLAY_LOG_SIZE``) in the same Lua call, so entry ``i`` of the log
is the event with ``seq = current - i`` for as long as Redis keeps its memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from broadcast.events import Envelope
from holds.batch import AnyRedis, Batcher
from holds.keys import Keys
from holds.scripts import Script

logger = logging.getLogger("broadcast.replay")


@dataclass(frozen=True, slots=True)
class LogRead:
    """One atomic read of a doctor's sequence number and the newest log entries."""

    current: int
    """The doctor's sequence number (0 when Redis knows nothing of the doctor)."""
    entries: list[Envelope]
    """Newest first, from ``current`` down to ``after`` at most."""


class ReplayReadArgs(msgspec.Struct, array_like=True, frozen=True):
    after: int
    """The client's last ``seq``; -1 asks for the current ``seq`` only."""


class ReplayReply(NamedTuple):
    current: int
    entries: list[str]
    """The log's newest entries, newest first, as Redis keeps them (JSON)."""


def _decode_replay(reply: list[Any]) -> ReplayReply:
    return ReplayReply(int(reply[0]), reply[1:])


REPLAY_READ = Script("broadcast", "replay_read", ReplayReadArgs, _decode_replay)


class ReplayLog:
    """Reads a doctor's replay log (one round trip, atomic with the sequence number).

    Args:
        redis: the Redis the hold scripts write the logs to.
        keys: key names under the deployment's prefix.
        batcher: the batcher reads go through (the engine's, usually): when thousands of streams
            catch up at once (the hub reconnected, a burst of new pages), their reads share a few
            pipelines instead of each taking a pooled connection of its own. Without one, a
            batcher of its own.
    """

    def __init__(self, redis: AnyRedis, keys: Keys, batcher: Batcher | None = None) -> None:
        self._keys = keys
        self._batcher = batcher or Batcher(redis)

    async def read(self, doctor_id: str, after: int | None) -> LogRead:
        """The doctor's current ``seq`` and, when ``after`` is given, the entries after it (and at it)."""
        keys = (self._keys.seq(doctor_id), self._keys.log(doctor_id))
        reply = await self._batcher.run(REPLAY_READ.call(keys, ReplayReadArgs(-1 if after is None else after)))
        entries = []
        for item in reply.entries:
            try:
                entries.append(Envelope.parse(item))
            except msgspec.DecodeError:
                logger.warning("ignored a malformed replay log entry of doctor %s", doctor_id)
        return LogRead(reply.current, entries)


def missed(after: int, read: LogRead, seen_ts: int | None = None) -> list[Envelope] | None:
    """The events with ``seq`` in ``(after, current]``, oldest first, or ``None`` when they cannot
    all be replayed and the client must resync instead.

    Args:
        after: the last ``seq`` the client has.
        read: what :meth:`ReplayLog.read` returned for that ``after``.
        seen_ts: the ``ts`` of the event the client saw at ``after``, when known: if the log holds
            a different event under that ``seq``, Redis lost its memory and counted again.

    Returns:
        ``[]`` when the client is up to date; ``None`` when the log no longer reaches back to
        ``after + 1`` or ``after`` is beyond the current ``seq`` (Redis was flushed).
    """
    current = read.current
    if after > current:
        return None
    if after == current:
        return []
    by_seq = {e.seq: e for e in read.entries}
    if seen_ts is not None and after in by_seq and by_seq[after].event.ts != seen_ts:
        return None
    wanted = range(after + 1, current + 1)
    if any(seq not in by_seq for seq in wanted):
        return None
    return [by_seq[seq] for seq in wanted]
