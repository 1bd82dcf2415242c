"""One local client's inbox: a bounded queue the hub fills and the client's stream drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from broadcast.events import Envelope


@dataclass(frozen=True, slots=True)
class Missed:
    """Events of ``doctor_id`` (``None``: of every doctor) may have been lost, e.g. while the hub
    was reconnecting to Redis: the client must check the replay log."""

    doctor_id: str | None = None


@dataclass(frozen=True, slots=True)
class Restarted:
    """The doctor's sequence started again (Redis lost its memory): the client must refetch."""

    doctor_id: str


Item = Envelope | Missed | Restarted


class Closed(Exception):
    """The subscriber was closed: ``overflow`` (too slow), ``shutdown``, or ``gone`` (client left)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Router(Protocol):
    """What a subscriber needs from its hub: which doctors route to it."""

    def attach(self, subscriber: Subscriber, doctor_id: str) -> None: ...

    def detach(self, subscriber: Subscriber, doctor_id: str) -> None: ...


OVERFLOW = "overflow"
SHUTDOWN = "shutdown"
GONE = "gone"


class Subscriber:
    """A bounded inbox for one SSE or WebSocket client.

    The hub never waits for a client: :meth:`push` either queues at once or reports that the
    client fell ``limit`` items behind, and the hub then closes it. So one stuck client costs at
    most ``limit`` shared envelopes of memory and never delays anyone else.

    Args:
        router: the hub that routes events of followed doctors here.
        limit: items waiting at most.
        on_close: called once with the reason when the subscriber closes (from the hub's task
            for ``overflow``): the stream uses it to stop a send that is stuck on a full socket.
    """

    # A list and one bare future rather than a deque and an asyncio.Event: with thousands of idle
    # clients per process, their empty blocks and waiter deques were a good part of the memory
    # each connection costs, and Event.wait/set a good part of the fan-out time.
    __slots__ = ("_items", "_limit", "_on_close", "_poked", "_router", "_ticked", "_waiter", "closed", "doctors")

    def __init__(self, router: Router, limit: int, on_close: Callable[[str], None] | None = None) -> None:
        self._router = router
        self._limit = limit
        self._on_close = on_close
        self._items: list[Item] = []
        self._waiter: asyncio.Future[None] | None = None
        self._poked = False
        self._ticked = False
        self.doctors: set[str] = set()
        self.closed: str | None = None

    def follow(self, doctor_id: str) -> None:
        """Route the doctor's events here from now on."""
        if self.closed is None and doctor_id not in self.doctors:
            self.doctors.add(doctor_id)
            self._router.attach(self, doctor_id)

    def unfollow(self, doctor_id: str) -> None:
        """Stop routing the doctor's events here."""
        if doctor_id in self.doctors:
            self.doctors.discard(doctor_id)
            self._router.detach(self, doctor_id)

    def push(self, item: Item) -> bool:
        """Queue an item without waiting. Returns ``False`` when the queue is full (the caller drops us)."""
        if self.closed is not None:
            return True
        if len(self._items) >= self._limit:
            return False
        self._items.append(item)
        self._wake()  # queued items are their own signal: wait() looks at them first
        return True

    def poke(self) -> None:
        """Wake the reader without an item (it has new work of its own, e.g. a new doctor to resolve)."""
        self._poked = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def tick(self) -> None:
        """Wake the reader as if its idle time had passed (it then sends a keepalive).

        Lets one timer per process serve every stream's keepalives, instead of a timer per
        stream armed and cancelled around every event.
        """
        self._ticked = True
        self._wake()

    def drain(self) -> list[Item]:
        """Everything queued, oldest first.

        Raises:
            Closed: once the subscriber is closed; what was still queued is dropped.
        """
        if self.closed is not None:
            raise Closed(self.closed)
        items, self._items = self._items, []
        return items

    async def wait(self, idle_seconds: float | None = None) -> bool:
        """Wait until something is queued, the reader is poked, or the subscriber closes.

        Returns:
            ``False`` when ``idle_seconds`` passed first, or :meth:`tick` was called.
        """
        if self._items or self.closed is not None:
            return True
        if self._poked:
            self._poked = False
            return True
        if self._ticked:
            self._ticked = False
            return False
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            if idle_seconds is None:
                await self._waiter
            else:
                try:
                    async with asyncio.timeout(idle_seconds):
                        await self._waiter
                except TimeoutError:
                    return False
        finally:
            self._waiter = None
        if self._poked:
            self._poked = False
            return True
        if self._ticked and not self._items and self.closed is None:
            self._ticked = False
            return False
        return True

    def close(self, reason: str) -> None:
        """Stop routing anything here and wake the reader, which then gets :class:`Closed`."""
        if self.closed is not None:
            return
        self.closed = reason
        for doctor_id in list(self.doctors):
            self._router.detach(self, doctor_id)
        self.doctors.clear()
        self._items.clear()
        self._wake()
        if self._on_close is not None:
            self._on_close(reason)
