"""A client's inbox: bounded, never blocks the hub, wakes its reader, closes once."""

from __future__ import annotations

import asyncio

import pytest

from broadcast.events import Envelope, SlotEvent
from broadcast.subscriber import OVERFLOW, Closed, Missed, Subscriber


class Routes:
    """The part of a hub a subscriber talks to: who follows which doctor."""

    def __init__(self) -> None:
        self.routes: dict[str, set[Subscriber]] = {}

    def attach(self, subscriber: Subscriber, doctor_id: str) -> None:
        self.routes.setdefault(doctor_id, set()).add(subscriber)

    def detach(self, subscriber: Subscriber, doctor_id: str) -> None:
        self.routes.get(doctor_id, set()).discard(subscriber)


def event(seq: int) -> Envelope:
    return Envelope(SlotEvent(type="slot.held", doctor_id="d", seq=seq, ts=seq))


async def test_push_never_waits_and_reports_a_full_queue() -> None:
    sub = Subscriber(Routes(), limit=3)
    assert all(sub.push(event(n)) for n in range(3))
    assert not sub.push(event(3))  # the hub drops this client instead of waiting for it
    assert [e.seq for e in sub.drain() if isinstance(e, Envelope)] == [0, 1, 2]
    assert sub.push(event(4))


async def test_reader_wakes_on_an_item_and_times_out_without_one() -> None:
    sub = Subscriber(Routes(), limit=3)
    assert await sub.wait(0.01) is False
    waiter = asyncio.create_task(sub.wait())
    await asyncio.sleep(0)
    sub.push(Missed())
    assert await asyncio.wait_for(waiter, 5) is True
    assert sub.drain() == [Missed()]


async def test_close_detaches_wakes_the_reader_and_reports_once() -> None:
    routes = Routes()
    reasons: list[str] = []
    sub = Subscriber(routes, limit=3, on_close=reasons.append)
    sub.follow("a")
    sub.follow("b")
    assert routes.routes == {"a": {sub}, "b": {sub}}
    waiter = asyncio.create_task(sub.wait())
    await asyncio.sleep(0)
    sub.close(OVERFLOW)
    sub.close("gone")
    assert await asyncio.wait_for(waiter, 5) is True
    with pytest.raises(Closed) as closed:
        sub.drain()
    assert closed.value.reason == OVERFLOW
    assert reasons == [OVERFLOW]
    assert routes.routes == {"a": set(), "b": set()}
    sub.follow("c")  # a closed inbox is routed nothing more
    assert "c" not in routes.routes
