"""Which events a resuming client gets: all it missed, in order, or one resync when that is impossible."""

from __future__ import annotations

from broadcast.events import Envelope, SlotEvent
from broadcast.replay import LogRead, missed

DOCTOR = "5b0e2a52-8a43-4c6b-9d0a-6a1d8f2b4c11"


def logged(*seqs: int, ts: int = 1_800_000_000_000) -> list[Envelope]:
    """Log entries, newest first, as the read script returns them."""
    return [Envelope(SlotEvent(type="slot.held", doctor_id=DOCTOR, seq=s, ts=ts + s)) for s in seqs]


def test_up_to_date_client_gets_nothing() -> None:
    assert missed(5, LogRead(5, [])) == []


def test_client_behind_gets_every_missed_event_oldest_first() -> None:
    events = missed(2, LogRead(5, logged(5, 4, 3, 2)))
    assert events is not None
    assert [e.seq for e in events] == [3, 4, 5]


def test_log_that_no_longer_reaches_back_means_resync() -> None:
    # trimmed: 3 is gone, the oldest entry is 4 > after + 1
    assert missed(2, LogRead(5, logged(5, 4))) is None


def test_client_ahead_of_redis_means_resync() -> None:
    # Redis lost its memory (flush, failover): the sequence is behind what the client saw
    assert missed(9, LogRead(3, logged(3, 2, 1))) is None


def test_empty_log_of_a_fresh_doctor_after_zero() -> None:
    assert missed(0, LogRead(0, [])) == []
    assert missed(0, LogRead(2, [])) is None


def test_a_different_event_under_the_clients_last_seq_means_redis_counted_again() -> None:
    entries = logged(5, 4, 3)
    assert missed(3, LogRead(5, entries), seen_ts=entries[2].event.ts) is not None
    assert missed(3, LogRead(5, entries), seen_ts=12345) is None
