"""What one client sees: for each doctor it follows, every event once, in order, or a ``resync``.

The client's inbox is routed live first; only then is the replay log read, and live events are
deduplicated against it by ``seq``. So nothing published between "read the log" and "be live"
can fall through the crack, and nothing is sent twice. A jump in the live sequence (a missed
message) is filled from the log the same way; what the log no longer holds becomes one
``resync`` event, after which the client refetches the slots and continues live.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast.events import Envelope
from broadcast.replay import ReplayLog, missed
from broadcast.subscriber import GONE, Missed, Restarted, Subscriber


@dataclass(slots=True)
class _Track:
    after: int | None
    """The ``seq`` the client asked to resume after (``None``: live from now on)."""
    last: int | None = None
    """The last ``seq`` delivered (or skipped as already known); ``None`` until resolved."""
    last_ts: int | None = None
    """The ``ts`` of the event at ``last``, when it was delivered here."""
    start: int | None = None
    """Where the client stood when this doctor was resolved (the cursor before any event)."""


class Feed:
    """Replay, live events and gap filling for one client, over its :class:`Subscriber`.

    Args:
        subscriber: the client's inbox (from :meth:`broadcast.hub.Hub.subscriber`).
        replay: reads the doctors' replay logs.
    """

    def __init__(self, subscriber: Subscriber, replay: ReplayLog) -> None:
        self.subscriber = subscriber
        self._replay = replay
        self._tracks: dict[str, _Track] = {}

    @property
    def doctors(self) -> list[str]:
        """The doctors followed, in the order they were followed."""
        return list(self._tracks)

    def start(self, doctor_id: str) -> int | None:
        """Where the client stood for ``doctor_id`` before this feed sent it anything (once resolved)."""
        track = self._tracks.get(doctor_id)
        return None if track is None else track.start

    def follow(self, doctor_id: str, after: int | None = None) -> None:
        """Follow a doctor: live at once; what came after ``after`` is replayed by the next :meth:`next`."""
        self._tracks[doctor_id] = _Track(after)
        self.subscriber.follow(doctor_id)
        self.subscriber.poke()

    def unfollow(self, doctor_id: str) -> None:
        """Stop following a doctor."""
        self._tracks.pop(doctor_id, None)
        self.subscriber.unfollow(doctor_id)

    def close(self, reason: str = GONE) -> None:
        """Stop everything; a waiting :meth:`next` raises :class:`~broadcast.subscriber.Closed`."""
        self.subscriber.close(reason)

    async def next(self, idle_seconds: float | None = None) -> list[Envelope]:
        """The next events to send, oldest first; waits until there are some.

        Returns:
            ``[]`` when ``idle_seconds`` passed with nothing to send.

        Raises:
            Closed: when the subscriber was closed (dropped as too slow, shutdown, or closed here).
        """
        while True:
            out: list[Envelope] = []
            for doctor_id, track in list(self._tracks.items()):
                if track.last is None:
                    out += await self._resolve(doctor_id, track)
            for item in self.subscriber.drain():
                if isinstance(item, Envelope):
                    known = self._tracks.get(item.doctor_id)
                    if known is not None and known.last is not None and item.seq == known.last + 1:
                        # the common case, kept free of awaits: the next event of a resolved doctor
                        known.last, known.last_ts = item.seq, item.event.ts
                        out.append(item)
                    else:
                        out += await self._live(item)
                elif isinstance(item, Missed):
                    for doctor_id, track in list(self._tracks.items()):
                        if item.doctor_id in (None, doctor_id) and track.last is not None:
                            out += await self._catch_up(doctor_id, track)
                elif isinstance(item, Restarted):
                    track_or_none = self._tracks.get(item.doctor_id)
                    if track_or_none is not None:
                        out += await self._resync(item.doctor_id, track_or_none)
            if out:
                return out
            if not await self.subscriber.wait(idle_seconds):
                return []

    async def _live(self, envelope: Envelope) -> list[Envelope]:
        track = self._tracks.get(envelope.doctor_id)
        if track is None:
            return []  # unfollowed while it was queued
        out = []
        if track.last is None:
            out += await self._resolve(envelope.doctor_id, track)
        assert track.last is not None
        if envelope.seq <= track.last:
            return out  # already sent from the log (or before the client's position)
        if envelope.seq > track.last + 1:
            # a message was lost on the way: fill the hole from the log (which has this one too)
            return out + await self._catch_up(envelope.doctor_id, track)
        track.last, track.last_ts = envelope.seq, envelope.event.ts
        out.append(envelope)
        return out

    async def _resolve(self, doctor_id: str, track: _Track) -> list[Envelope]:
        read = await self._replay.read(doctor_id, track.after)
        if track.after is None:
            track.start = track.last = read.current
            return []
        track.start = track.after
        return self._apply(doctor_id, track, track.after, missed(track.after, read), read.current)

    async def _catch_up(self, doctor_id: str, track: _Track) -> list[Envelope]:
        assert track.last is not None
        after = track.last
        read = await self._replay.read(doctor_id, after)
        return self._apply(doctor_id, track, after, missed(after, read, track.last_ts), read.current)

    async def _resync(self, doctor_id: str, track: _Track) -> list[Envelope]:
        read = await self._replay.read(doctor_id, None)
        return self._apply(doctor_id, track, track.last or 0, None, read.current)

    @staticmethod
    def _apply(
        doctor_id: str, track: _Track, after: int, events: list[Envelope] | None, current: int
    ) -> list[Envelope]:
        if events is None:
            track.last, track.last_ts = current, None
            return [Envelope.resync(doctor_id, current)]
        if events:
            track.last, track.last_ts = events[-1].seq, events[-1].event.ts
        elif track.last != after:  # up to date at `after` (== current)
            track.last, track.last_ts = after, None
        return events
