"""What the cluster mode changes in names and script texts, and what it leaves alone."""

from __future__ import annotations

import uuid

from redis.crc import key_slot

from holds.keys import CLUSTER_DUE_SHARDS, Keys
from holds.scripts import PUBLISH_LINE, REGISTRY, SHARDED_PUBLISH_LINE


def test_one_shard_is_the_old_deadline_index() -> None:
    keys = Keys("gw")
    assert keys.due_keys() == ["gw:due"]
    assert {keys.due_shard(uuid.uuid4()) for _ in range(50)} == {"gw:due"}


def test_cluster_shards_are_stable_spread_and_hash_tagged() -> None:
    keys = Keys("gw", due_shards=CLUSTER_DUE_SHARDS)
    shards = keys.due_keys()
    assert len(set(shards)) == CLUSTER_DUE_SHARDS
    doctor = uuid.uuid4()
    assert keys.due_shard(doctor) == keys.due_shard(str(doctor)) == Keys("gw", CLUSTER_DUE_SHARDS).due_shard(doctor)
    assert {keys.due_shard(uuid.uuid4()) for _ in range(2000)} == set(shards)
    # each shard is a slot of its own, so they spread over the primaries
    assert len({key_slot(s.encode()) for s in shards}) == CLUSTER_DUE_SHARDS


def test_a_doctors_keys_and_channel_share_one_slot() -> None:
    keys = Keys("gw")
    doctor = str(uuid.uuid4())
    names = [keys.seq(doctor), keys.log(doctor), keys.holds(doctor), keys.spans(doctor), keys.warm(doctor)]
    names += [keys.hold(doctor, uuid.uuid4()), keys.longest_span(doctor), keys.channel(doctor)]
    names += keys.cells(doctor, 0, 3_600_000)
    assert len({key_slot(name.encode()) for name in names}) == 1


def test_the_sharded_variant_differs_only_in_how_events_are_published() -> None:
    for name, script in REGISTRY.items():
        if PUBLISH_LINE in script.script:
            assert script.sharded_script == script.script.replace(PUBLISH_LINE, SHARDED_PUBLISH_LINE), name
            assert script.sharded_sha != script.sha
        else:
            assert script.sharded_script == script.script and script.sharded_sha == script.sha, name
    assert PUBLISH_LINE in REGISTRY["holds/hold"].script
    assert "redis.call('PUBLISH', channel" not in REGISTRY["holds/hold"].script, "announce uses the chosen command"
