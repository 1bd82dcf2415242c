"""The hold engine: every change to a doctor's holds is one Lua call."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from redis.exceptions import SlotNotCoveredError

from holds import scripts as lua
from holds.batch import AnyRedis, Batcher
from holds.keys import CELL_MS, Keys, new_hold_token, token_hash
from holds.scripts import Cold, Held

logger = logging.getLogger("holds.engine")

CLOCK_NOTICE_MS = 2000
"""A change this large in how far this process's clock is from Redis's is logged (a warning)."""
WARM_TTL_MS = 3_600_000
"""How long a doctor's booked cells count as warm before they are re-read from Postgres."""


def to_ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(instant: datetime) -> str:
    """UTC ISO 8601 with ``Z``, second precision (slots are on a minute grid)."""
    # isoformat is several times cheaper than strftime, and this runs four times per hold
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@dataclass(frozen=True, slots=True)
class BookedInterval:
    """An appointment as Redis keeps it: its id and the interval it blocks."""

    appointment_id: uuid.UUID
    start: datetime
    blocked_until: datetime


@dataclass(frozen=True, slots=True)
class NewHold:
    hold_id: uuid.UUID
    token: str
    expires_at: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class HeldInterval:
    hold_id: str
    start: datetime
    blocked_until: datetime


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    held: list[HeldInterval]


@dataclass(frozen=True, slots=True)
class HoldState:
    """A hold as Redis remembers it."""

    hold_id: uuid.UUID
    doctor_id: uuid.UUID
    status: str
    start: datetime
    end: datetime
    blocked_until: datetime
    appointment_type_id: uuid.UUID
    deadline: datetime
    patient_ref: str
    appointment_id: uuid.UUID | None
    token_hash: str = ""
    """What Redis keeps of the hold's token (a hash), so a reader can check the token it was sent."""


@dataclass(frozen=True, slots=True)
class LiveHold:
    """A live hold as the front desk lists it (never its token)."""

    hold_id: uuid.UUID
    doctor_id: uuid.UUID
    start: datetime
    end: datetime
    expires_at: datetime


BeginOutcome = Literal["ok", "booked", "busy", "gone", "unknown"]
Warmer = Callable[[uuid.UUID], Awaitable[Sequence[BookedInterval]]]
StaleCheck = Callable[[uuid.UUID], Awaitable[tuple[datetime, datetime, datetime] | None]]
"""For an appointment whose booked cells block a hold: ``(start, end, blocked_until)`` when it no
longer blocks anything (cancelled or moved, but Redis was not told), else ``None``."""


class HoldEngine:
    """Atomic holds on one Redis.

    Args:
        redis: a client created with ``decode_responses=True``.
        keys: key names under the deployment's prefix.
        warmer: reads a doctor's booked intervals from Postgres, used when Redis has lost them.
        stale: asks Postgres whether a booked cell that blocks a hold is stale (see
            :data:`StaleCheck`); its cells are then freed and the hold tried again.
        log_max: events kept per doctor in the replay log.
        history_ms: how long a finished hold is remembered.
    """

    def __init__(
        self,
        redis: AnyRedis,
        keys: Keys,
        warmer: Warmer,
        *,
        stale: StaleCheck | None = None,
        log_max: int = 512,
        history_ms: int = 86_400_000,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.batcher = Batcher(redis)
        self._warmer = warmer
        self._stale = stale
        self._log_max = log_max
        self._history_ms = history_ms
        self._ahead_ms = 0
        """How far this process's wall clock runs ahead of Redis's (learnt from every new deadline)."""
        self.on_resync: list[Callable[[uuid.UUID], None]] = []
        """Called with the doctor's id right after :meth:`resync` announced it: this process's
        caches forget the doctor's schedule before the edit's answer leaves."""

    def _estimated_deadline(self, ttl_ms: int) -> tuple[int, int]:
        """This process's clock now, and where a hold living ``ttl_ms`` from now goes in the sweeper's
        index (both epoch ms).

        The index only needs to wake the sweeper no later than the real deadline, which the Redis
        clock sets inside the script. Waking a little early is harmless (the sweeper re-checks in
        Lua and files the exact deadline), so the estimate is pulled forward by a margin, and made
        on Redis's clock as last seen: this process's own may be off by any amount (a stepped or
        drifting clock), and one running ahead would file every lapse late by as much.
        """
        local_ms = to_ms(datetime.now(UTC))
        return local_ms, local_ms - self._ahead_ms + ttl_ms - 1000

    async def _check_filed(
        self, due_key: str, member: str, local_ms: int, filed: int, deadline_ms: int, ttl_ms: int
    ) -> None:
        """Learn how far this process's clock is ahead of Redis's from a deadline Redis just set
        (``deadline_ms - ttl_ms`` was Redis's now), and move the sweeper's entry forward to the
        deadline when it was filed after it (the clock jumped ahead since it was last learnt)."""
        ahead = local_ms - (deadline_ms - ttl_ms)
        if abs(ahead - self._ahead_ms) > CLOCK_NOTICE_MS:
            logger.warning(
                "this process's clock is %d ms %s Redis's; hold deadlines follow Redis's",
                abs(ahead), "ahead of" if ahead > 0 else "behind",
                extra={"action": "holds.clock_skew", "ahead_ms": ahead},
            )  # fmt: skip
        self._ahead_ms = ahead
        if filed > deadline_ms:
            # LT: never undo a sooner entry (the sweeper re-files a confirm's later deadline itself)
            await self.batcher.execute(("ZADD", due_key, "LT", deadline_ms, member))

    def _doctor_keys(self, doctor: str) -> list[str]:
        """The keys every doctor script gets first: seq, replay log, deadline and interval index."""
        k = self.keys
        return [k.seq(doctor), k.log(doctor), k.holds(doctor), k.spans(doctor)]

    async def _due_key(self, doctor: str) -> str:
        """The deadline index shard a new entry of the doctor goes to (see :meth:`Keys.due_shard`).

        On a cluster, the first shard that lives on the doctor's own primary: the hold's script and
        its entry then travel to one node, and a failing primary fails only its own doctors' holds
        (with the entry on another node, a third of the others would fail with it).
        """
        cluster = self.batcher.cluster
        if cluster is None:  # callers on the hot path skip this coroutine on one Redis
            return self.keys.due_shard(doctor)
        await cluster.initialize()  # the slot map (at once once read)
        slots = cluster.nodes_manager
        shards = self.keys.due_shards_for(doctor)
        try:
            home = slots.get_node_from_slot(cluster.keyslot(self.keys.seq(doctor))).name
            return next((s for s in shards if slots.get_node_from_slot(cluster.keyslot(s)).name == home), shards[0])
        except SlotNotCoveredError:  # a slot map with holes (a failing cluster): the script will say
            return shards[0]

    def _announce(self, doctor: str) -> tuple[str, int, str]:
        """The first arguments of every script that announces: channel, log size, doctor."""
        return self.keys.channel(doctor), self._log_max, doctor

    async def hold(
        self,
        *,
        doctor_id: uuid.UUID,
        appointment_type_id: uuid.UUID,
        start: datetime,
        end: datetime,
        blocked_until: datetime,
        ttl_ms: int,
        patient_ref: str = "",
    ) -> NewHold | None:
        """Take ``[start, blocked_until)`` for a new hold, all or nothing.

        Returns:
            The new hold, or ``None`` when any part of the interval is held or booked.
        """
        hold_id = uuid.uuid4()
        token = new_hold_token(doctor_id)
        start_ms, block_ms = to_ms(start), to_ms(blocked_until)
        # Each id is turned into text once: UUID.__str__ is Python code, and a hold names the
        # doctor in a dozen keys and arguments.
        doctor, hold = str(doctor_id), str(hold_id)
        keys = [
            *self._doctor_keys(doctor), self.keys.hold(doctor, hold), self.keys.warm(doctor),
            self.keys.longest_span(doctor), *self.keys.cells(doctor, start_ms, block_ms),
        ]  # fmt: skip
        call = lua.HOLD.call(keys, lua.HoldArgs(
            *self._announce(doctor), hold_id=hold, token_hash=token_hash(token), ttl_ms=ttl_ms,
            history_ms=self._history_ms, start_iso=iso(start), end_iso=iso(end), start_ms=start_ms,
            block_ms=block_ms, type_id=str(appointment_type_id), patient_ref=patient_ref,
        ))  # fmt: skip
        due_key = self.keys.due_shard(doctor) if self.batcher.cluster is None else await self._due_key(doctor)
        healed = False
        member = f"{doctor}|{hold}"
        for _ in range(3):
            # One round trip: the script and the sweeper's index entry travel in one pipeline (with
            # the other requests' commands of this moment, see holds/batch.py). A
            # losing hold leaves an index entry the sweeper drops at its deadline.
            local_ms, filed = self._estimated_deadline(ttl_ms)
            result = await self.batcher.run(call, ("ZADD", due_key, filed, member))
            if isinstance(result, Held):
                await self._check_filed(due_key, member, local_ms, filed, result.deadline_ms, ttl_ms)
                return NewHold(hold_id, token, from_ms(result.deadline_ms), result.seq)
            if isinstance(result, Cold):
                await self.warm(doctor_id, await self._warmer(doctor_id))
                continue
            if result.booked is not None and not healed and await self._heal(doctor_id, result.booked):
                healed = True
                continue
            return None
        raise RuntimeError("Redis lost the doctor's booked cells again right after re-warming them")

    async def _heal(self, doctor_id: uuid.UUID, booked: str) -> bool:
        """Free the cells of a booked appointment Postgres no longer has active; whether it did.

        A cancel or reschedule commits in Postgres, then frees the cells in Redis; if Redis failed
        in between, the cells would refuse every hold until the appointment's end while /slots
        (which reads Postgres) offers the slot. The first hold that meets them repairs that.
        """
        if self._stale is None:
            return False
        try:
            appointment_id = uuid.UUID(booked.removeprefix("b:"))
        except ValueError:
            return False
        interval = await self._stale(appointment_id)
        if interval is None:
            return False
        logger.warning("freed the cells of appointment %s, which no longer blocks them", appointment_id)
        await self.free(doctor_id, appointment_id, *interval)
        return True

    async def state(self, doctor_id: uuid.UUID, hold_id: uuid.UUID) -> HoldState | None:
        """What Redis remembers of a hold (``None`` when it never existed or was forgotten)."""
        (h,) = await self.batcher.execute(("HGETALL", self.keys.hold(doctor_id, hold_id)))
        if isinstance(h, Exception):
            raise h
        if not h:
            return None
        start_ms, block_ms = int(h["start_ms"]), int(h["block_ms"])
        return HoldState(
            hold_id=hold_id,
            doctor_id=doctor_id,
            status=h["status"],
            start=from_ms(start_ms),
            end=datetime.fromisoformat(h["end"]),
            blocked_until=from_ms(block_ms),
            appointment_type_id=uuid.UUID(h["type_id"]),
            deadline=from_ms(int(h["deadline"])),
            patient_ref=h.get("patient_ref", ""),
            appointment_id=uuid.UUID(h["appointment_id"]) if h.get("appointment_id") else None,
            token_hash=h.get("token", ""),
        )

    async def release(self, doctor_id: uuid.UUID, hold_id: uuid.UUID, token: str, state: HoldState) -> str:
        """Let a hold go. Returns ``ok``, ``busy``, ``gone`` or ``unknown``."""
        doctor = str(doctor_id)
        keys = [*self._doctor_keys(doctor), self.keys.hold(doctor, hold_id)]
        keys += self.keys.cells(doctor, to_ms(state.start), to_ms(state.blocked_until))
        args = lua.ReleaseArgs(*self._announce(doctor), hold_id=str(hold_id), token_hash=token_hash(token))
        return (await self.batcher.run(lua.RELEASE.call(keys, args))).status

    async def staff_release(self, state: HoldState) -> str:
        """Let a hold go without its token (the caller is the organisation's staff, checked before).

        Returns:
            ``ok``, ``busy`` (being confirmed), ``gone`` or ``unknown``.
        """
        doctor = str(state.doctor_id)
        args = lua.StaffReleaseArgs(*self._announce(doctor), hold_id=str(state.hold_id))
        return (await self.batcher.run(lua.STAFF_RELEASE.call(self._hold_keys(state), args))).status

    async def live_holds(self, doctor_ids: Sequence[uuid.UUID]) -> list[LiveHold]:
        """Every live hold of these doctors, by start, read from their deadline indexes in one round trip.

        A hold whose deadline has passed is left out (the sweeper announces it within a second).
        """
        if not doctor_ids:
            return []
        # "Now" is Redis's clock, which set the deadlines (this process's may be off): read with the
        # indexes, the lapsed entries the sweeper has not reached yet (a second's worth) left out here
        clock, *replies = await self.batcher.execute(
            ("TIME",), *(("ZRANGEBYSCORE", self.keys.holds(str(d)), "-inf", "+inf", "WITHSCORES") for d in doctor_ids)
        )
        if isinstance(clock, Exception):
            raise clock
        now = int(clock[0]) * 1000 + int(clock[1]) // 1000
        found = []
        for doctor_id, reply in zip(doctor_ids, replies, strict=True):
            if isinstance(reply, Exception):
                raise reply
            for member, score in reply:  # (member, score) pairs: the client pairs WITHSCORES replies
                if float(score) <= now:
                    continue
                # hold_id|start_iso|end_iso|start_ms|block_ms; the earlier form (hold_id|start_ms|block_ms) names
                # no end of its own, so its blocked-until stands for it
                parts = str(member).split("|")
                start = from_ms(int(parts[-2]))
                end = (
                    datetime.fromisoformat(parts[2].replace("Z", "+00:00"))
                    if len(parts) == 5
                    else from_ms(int(parts[-1]))
                )
                found.append(LiveHold(uuid.UUID(parts[0]), doctor_id, start, end, from_ms(int(float(score)))))
        return sorted(found, key=lambda h: (h.start, str(h.doctor_id)))

    def _hold_keys(self, state: HoldState) -> list[str]:
        doctor = str(state.doctor_id)
        keys = [*self._doctor_keys(doctor), self.keys.hold(doctor, state.hold_id)]
        return keys + self.keys.cells(doctor, to_ms(state.start), to_ms(state.blocked_until))

    async def begin_confirm(self, state: HoldState, token: str, grace_ms: int) -> tuple[BeginOutcome, str | None]:
        """Check the token and keep the hold while its appointment is written.

        Returns:
            ``("ok", None)``; ``("booked", appointment_id)`` when a confirm already finished;
            ``("busy", None)`` while another confirm runs; ``("gone", status)``; ``("unknown", None)``.
        """
        args = lua.ConfirmBeginArgs(
            *self._announce(str(state.doctor_id)), hold_id=str(state.hold_id), token_hash=token_hash(token),
            grace_ms=grace_ms,
        )  # fmt: skip
        member = f"{state.doctor_id}|{state.hold_id}"
        due_key = await self._due_key(str(state.doctor_id))
        local_ms, filed = self._estimated_deadline(grace_ms)
        result = await self.batcher.run(
            lua.CONFIRM_BEGIN.call(self._hold_keys(state), args), ("ZADD", due_key, filed, member)
        )
        outcome = cast(BeginOutcome, result.status)
        if outcome == "ok" and result.detail:
            await self._check_filed(due_key, member, local_ms, filed, int(result.detail), grace_ms)
        return outcome, result.detail if outcome in ("booked", "gone") else None

    async def end_confirm(
        self,
        state: HoldState,
        outcome: Literal["booked", "refused", "retry"],
        appointment_id: uuid.UUID | None = None,
    ) -> None:
        """Record what Postgres answered: booked, refused (slot taken) or retry (unreachable)."""
        args = lua.ConfirmEndArgs(
            *self._announce(str(state.doctor_id)), hold_id=str(state.hold_id), outcome=outcome,
            appointment_id=str(appointment_id or ""), block_ms=to_ms(state.blocked_until),
        )  # fmt: skip
        await self.batcher.run(lua.CONFIRM_END.call(self._hold_keys(state), args))

    async def free(
        self, doctor_id: uuid.UUID, appointment_id: uuid.UUID, start: datetime, end: datetime, blocked_until: datetime
    ) -> int:
        """An appointment stopped blocking its interval: free its cells, announce ``slot.freed``.

        Returns:
            The event's sequence number.
        """
        doctor = str(doctor_id)
        keys = [*self._doctor_keys(doctor), *self.keys.cells(doctor, to_ms(start), to_ms(blocked_until))]
        args = lua.FreeArgs(
            *self._announce(doctor), appointment_id=str(appointment_id), start_iso=iso(start), end_iso=iso(end)
        )
        return int((await self.batcher.run(lua.FREE.call(keys, args))).detail or 0)

    async def resync(self, doctor_id: uuid.UUID) -> int:
        """Tell every open page of the doctor to fetch the slots again (windows or overrides changed)."""
        # the event also goes to the deployment-wide resync channel, which every process's hub listens to
        doctor = str(doctor_id)
        args = lua.ResyncArgs(*self._announce(doctor), resync_channel=self.keys.resync_channel())
        result = await self.batcher.run(lua.RESYNC.call(self._doctor_keys(doctor), args))
        for forget in self.on_resync:
            forget(doctor_id)
        return int(result.detail or 0)

    async def snapshot(
        self, doctor_id: uuid.UUID, start: datetime | None = None, end: datetime | None = None
    ) -> Snapshot:
        """The doctor's sequence number and the live holds that overlap ``[start, end)`` (all of
        them without bounds), read atomically.

        Only the holds near the range are read and parsed (the interval index, ``spans``). With
        every live hold read, a doctor with 2,000 of them (207 in the 31 days asked) answered
        /slots in 15.0 ms at p50 and 33.4 ms at p99 (``make bench``, Redis ceiling 55k SET NX/s),
        against 3.2 / 8.8 ms for a quiet one; reading the range only: 4.4 / 12.5 ms (41k/s).
        """
        doctor = str(doctor_id)
        keys = [*self._doctor_keys(doctor), self.keys.longest_span(doctor)]
        bounds = lua.SnapshotArgs(to_ms(start) if start else 0, to_ms(end) if end else _FAR_FUTURE_MS)
        reply = await self.batcher.run(lua.SNAPSHOT.call(keys, bounds))
        held = []
        for member in reply.members:
            # hold_id|start_iso|end_iso|start_ms|block_ms (hold_id|start_ms|block_ms before an upgrade)
            parts = member.split("|")
            held.append(HeldInterval(parts[0], from_ms(int(parts[-2])), from_ms(int(parts[-1]))))
        return Snapshot(reply.seq, held)

    async def warm(self, doctor_id: uuid.UUID, booked: Sequence[BookedInterval]) -> None:
        """Write a doctor's booked cells (from Postgres) and mark the doctor warm."""
        keys = [self.keys.warm(doctor_id)]
        cells: list[str | int] = []
        for appointment in booked:
            block_ms = to_ms(appointment.blocked_until)
            for key in self.keys.cells(doctor_id, to_ms(appointment.start), block_ms):
                keys.append(key)
                cells += [f"b:{appointment.appointment_id}", block_ms]
        await self.batcher.run(lua.WARM.call(keys, lua.WarmArgs(WARM_TTL_MS, cells)))

    async def expire_due(self, limit: int = 500) -> int:
        """One sweep: expire (and announce) holds whose deadline has passed.

        Safe to run in every process at once: each lapse is announced exactly once. Every shard of
        the deadline index is walked (one on a single Redis, see :meth:`Keys.due_shard`), at most
        ``limit`` entries of each.

        Returns:
            How many holds this call expired.
        """
        now_s, now_us = await self.redis.time()
        now_ms = now_s * 1000 + now_us // 1000
        expired = 0
        for due_key in self.keys.due_keys():
            expired += await self._expire_shard(due_key, now_ms, limit)
        return expired

    async def _expire_shard(self, due_key: str, now_ms: int, limit: int) -> int:
        due: list[tuple[str, float]] = await self.redis.zrangebyscore(  # type: ignore[assignment]
            due_key, "-inf", f"({now_ms}", start=0, num=limit, withscores=True
        )
        expired = 0
        for member, score in due:
            doctor, _, hold = member.partition("|")
            try:
                doctor = str(uuid.UUID(doctor))
            except ValueError:
                # not an entry this engine wrote: drop it, or it would stall every later deadline
                await self.batcher.run(lua.DUE_REMOVE.call([due_key], lua.DueRemoveArgs(member, score)))
                continue
            keys = [*self._doctor_keys(doctor), self.keys.hold(doctor, hold)]
            result = await self.batcher.run(lua.EXPIRE.call(keys, lua.ExpireArgs(*self._announce(doctor))))
            if result.status == "later":
                await self.redis.zadd(due_key, {member: int(result.detail or 0)}, gt=True)
                continue
            expired += result.status == "expired"
            await self.batcher.run(lua.DUE_REMOVE.call([due_key], lua.DueRemoveArgs(member, score)))
        return expired


_FAR_FUTURE_MS = 2**52
"""An upper bound for "every hold" (year 142,000; exact in a Lua number)."""


__all__ = ["CELL_MS", "BookedInterval", "HoldEngine", "HoldState", "LiveHold", "NewHold", "Snapshot"]
