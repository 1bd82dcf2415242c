"""A primary killed mid-test: its replica takes over, holds on its doctors come back, and the live
streams of those doctors resync (the hub resubscribes and catches up from the replay log)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio.cluster import RedisCluster as ClusterClient

from gateway.settings import Settings
from holds.keys import Keys
from tests.cluster_support import RedisCluster, start_cluster
from tests.support import Clinic, make_clinic
from tests.support_live import (
    LiveStream,
    SSEEvent,
    events_url,
    gateways,
    hold,
    patient_headers,
    problems_in,
    slot_starts,
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """Three primaries with a replica each (the module's own: one of them is killed)."""
    started = start_cluster(tmp_path_factory.mktemp("redis-cluster"), primaries=3, replicas=1)
    yield started
    started.stop()


def primary_of(redis: ClusterClient, keys: Keys, doctor_id: str) -> int:
    return int(redis.nodes_manager.get_node_from_slot(redis.keyslot(keys.seq(doctor_id))).port)


async def test_a_killed_primary_fails_over_and_streams_resync(
    settings: Settings,
    clinic: Clinic,
    client: AsyncTestClient[Litestar],
    admin: dict[str, str],
    redis: ClusterClient,
    cluster: RedisCluster,
    tmp_path: Path,
) -> None:
    keys = Keys(settings.redis.prefix)
    victim = primary_of(redis, keys, clinic.doctor_id)
    # a second clinic whose doctor lives on another primary: it keeps booking through the failover
    for _ in range(20):
        elsewhere = await make_clinic(client, admin)
        if primary_of(redis, keys, elsewhere.doctor_id) != victim:
            break
    else:
        pytest.fail("twenty doctors all hashed to one primary")
    first, second = clinic.at(3, 9), clinic.at(3, 10)
    with gateways(settings, str(tmp_path)) as (server,):
        async with LiveStream(events_url(server, clinic)) as stream, httpx.AsyncClient(base_url=server.url) as http:
            await hold(http, clinic, first)
            before = await stream.next()
            assert (before.event, before.data["start"]) == ("slot.held", first)

            cluster.kill(victim)  # SIGKILL: the doctor's primary is gone
            # holds of this doctor answer 503 until a replica took over, then succeed
            headers = await patient_headers(http, clinic)
            body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": second}
            other = {"doctor_id": elsewhere.doctor_id, "appointment_type_id": elsewhere.type_30}
            other_headers = await patient_headers(http, elsewhere)
            statuses: list[int] = []
            others: list[int] = []
            free = slot_starts(elsewhere, 200)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while loop.time() < deadline:
                # the two doctors' holds in flight together (often in one batch of the gateway)
                r, o = await asyncio.gather(
                    http.post("/v1/holds", json=body, headers=headers),
                    http.post(
                        "/v1/holds",
                        json=other | {"start": free[len(others)]},
                        headers=other_headers if len(others) < 2 else await patient_headers(http, elsewhere),
                    ),
                )
                statuses.append(r.status_code)
                others.append(o.status_code)
                if r.status_code != 503:
                    break
                assert r.json()["dependency"] == "redis"
                await asyncio.sleep(0.2)
            assert statuses[-1] == 201, statuses
            assert 503 in statuses, "the doctor's holds waited for the failover"
            assert set(others) == {201}, f"the other primary's doctor kept booking: {others}"
            failed_over = [p for p in cluster.processes if "cluster_state:ok" in cluster.info(p)]
            assert failed_over, "the surviving nodes agree the cluster is whole again"

            # the stream hears of the new hold: live after the hub resubscribed, or from the log
            # when it caught up (with a resync first if the replica had not seen everything)
            seen: list[SSEEvent] = []
            async with asyncio.timeout(20):
                while not any(e.event == "slot.held" and e.data["start"] == second for e in seen):
                    seen.append(await stream.next(within=20))
            assert {e.event for e in seen} <= {"slot.held", "resync"}

            # and the slot is held on the new primary: nobody else gets it
            r = await http.post("/v1/holds", json=body, headers=await patient_headers(http, clinic))
            assert r.status_code == 409, r.text
    assert not problems_in(server), problems_in(server)
