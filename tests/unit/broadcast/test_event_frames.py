"""Slot events on the wire: the SSE frame and the JSON every client gets, whichever path it took."""

from __future__ import annotations

import json

import msgspec
import pytest

from broadcast import cursor
from broadcast.events import Envelope

DOCTOR = "5b0e2a52-8a43-4c6b-9d0a-6a1d8f2b4c11"
LUA = (  # as cjson writes it: any key order
    '{"seq":42,"end":"2031-03-03T09:30:00Z","ts":1764057600123,"type":"slot.held",'
    f'"doctor_id":"{DOCTOR}","start":"2031-03-03T09:00:00Z"}}'
)


def test_frame_has_id_event_and_data_in_the_documented_order() -> None:
    envelope = Envelope.parse(LUA)
    frame = envelope.sse().decode()
    assert frame == (
        "id: 42\nevent: slot.held\n"
        f'data: {{"type":"slot.held","doctor_id":"{DOCTOR}","start":"2031-03-03T09:00:00Z",'
        '"end":"2031-03-03T09:30:00Z","seq":42,"ts":1764057600123}\n\n'
    )
    assert envelope.sse() is envelope.sse()  # built once, shared by every client of the doctor
    assert json.loads(envelope.data) == json.loads(LUA)


def test_a_stream_of_several_doctors_puts_its_cursor_in_the_id() -> None:
    frame = Envelope.parse(LUA).sse("c1.abc").decode()
    assert frame.startswith("id: c1.abc\nevent: slot.held\ndata: {")


def test_resync_carries_type_doctor_seq_and_ts_only() -> None:
    data = json.loads(Envelope.resync(DOCTOR, 7).data)
    assert set(data) == {"type", "doctor_id", "seq", "ts"}
    assert data["type"] == "resync" and data["seq"] == 7 and data["ts"] > 1_700_000_000_000


def test_something_else_on_the_channel_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        Envelope.parse('{"type": "slot.eaten", "doctor_id": "x", "seq": 1, "ts": 1}')


def test_cursor_round_trips_every_doctors_position() -> None:
    positions = {DOCTOR: 42, "0b9c0f7e-4a8e-4b7a-8c55-0a3c6f1d2e33": 0}
    token = cursor.encode(positions)
    assert cursor.decode(token) == positions
    assert ":" not in token and "," not in token  # opaque, and safe in an id line or a query


@pytest.mark.parametrize("bad", ["", "42", "c1.", "c1.!!!", cursor.PREFIX + "bm90IGEgY3Vyc29y", "c1." + "A" * 5000])
def test_cursor_refuses_what_it_did_not_make(bad: str) -> None:
    if bad == "c1.":
        assert cursor.decode(bad) == {}  # an empty cursor: no doctor resumed
        return
    with pytest.raises(ValueError, match="cursor"):
        cursor.decode(bad)
