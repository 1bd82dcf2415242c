"""What the SSE and WebSocket routes share: where a client resumes, which doctors exist."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from redis.exceptions import RedisError

from gateway.errors import NotFound, ServiceUnavailable, ValidationFailed
from gateway.services import Services
from store import clinic as clinic_repo


def parse_seq(raw: str, field: str) -> int:
    """A sequence number a client sent back (``after`` or ``Last-Event-ID``).

    Raises:
        ValidationFailed: for anything but a whole number >= 0.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(f"{field}: {raw!r} is not an event id (a whole number >= 0)", field=field)
    return int(raw)


def parse_doctor(raw: object, field: str = "doctor_id") -> str:
    """A doctor id in its canonical form.

    Raises:
        ValidationFailed: for anything that is not a UUID.
    """
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise ValidationFailed(f"{field}: {raw!r} is not a doctor id (a UUID)", field=field) from None


async def missing_doctors(services: Services, doctor_ids: Iterable[str]) -> list[str]:
    """The ids among ``doctor_ids`` that name no doctor (one query for all of them)."""
    wanted = list(doctor_ids)
    found = await clinic_repo.existing_doctors(services.db, [uuid.UUID(d) for d in wanted])
    return [d for d in wanted if uuid.UUID(d) not in found]


async def require_doctors(services: Services, doctor_ids: Iterable[str]) -> None:
    """Refuse before a stream starts when a doctor does not exist.

    Raises:
        NotFound: naming the first unknown doctor.
    """
    missing = await missing_doctors(services, doctor_ids)
    if missing:
        raise NotFound(f"Doctor {missing[0]} not found.")


async def current_seq(services: Services, doctor_id: str) -> int:
    """The doctor's sequence number now: where a client that asked for no replay starts.

    Raises:
        ServiceUnavailable: when Redis does not answer.
    """
    try:
        return (await services.replay.read(doctor_id, None)).current
    except (RedisError, OSError) as exc:
        raise ServiceUnavailable("Live events are unavailable right now; retry shortly.", dependency="redis") from exc


class CallEnd:
    """Ends the ASGI call of a live stream whose closing message could not go out (a client that
    reads nothing): the stream calls it, the call's coroutine is cancelled, and :meth:`absorb`
    tells the route that this cancellation was ours (the server then closes the connection of a
    response or socket left unfinished).

    Made inside the route's own call: it cancels the task running it.
    """

    __slots__ = ("ended", "task")

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.ended = False

    def __call__(self) -> None:
        self.ended = True
        if self.task is not None:
            self.task.cancel()

    def absorb(self) -> bool:
        """On ``CancelledError``: whether it came from here (then it is taken back, not raised)."""
        if not self.ended or self.task is None:
            return False
        self.task.uncancel()
        return True
