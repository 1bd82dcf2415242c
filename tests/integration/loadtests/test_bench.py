"""``make bench`` works end to end: a short run writes every key the report promises, and the
invariants it measures hold (one winner among 1,000 racers, every hold and event accounted for)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import Settings
from loadtests.floor import VARIANTS


@pytest.mark.timeout(300)
def test_a_short_bench_run_writes_the_whole_report(settings: Settings, tmp_path: Path) -> None:
    report, plot = tmp_path / "bench-report.json", tmp_path / "bench-fanout.png"
    # the bench starts its own gateways on schemas and prefixes of its own; it needs only the stores
    env = os.environ | {"DATABASE_URL": settings.database.url, "REDIS_URL": settings.redis.url}
    command = [
        sys.executable, "-m", "loadtests.bench", "--max-clients", "300", "--events", "3", "--hold-seconds", "1",
        "--slots-requests", "20", "--crowded-holds", "300", "--client-processes", "2",
        "--floor-clients", "40", "--floor-events", "2",
        "--out", str(report), "--plot", str(plot),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=280, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]

    got = json.loads(report.read_text())
    for key in (
        "redis_setnx_per_s", "holds_per_s", "hold_p50_ms", "hold_p99_ms", "slots_p50_ms", "slots_p99_ms",
        "race_1000_one_slot_s", "race_winners", "holds_per_s_64", "hold_p50_ms_64", "hold_p99_ms_64",
        "slots_crowded_p50_ms", "slots_crowded_p99_ms",
    ):  # fmt: skip
        assert got[key] > 0, key
    assert got["race_winners"] == 1
    assert got["race_conflicts"] == 999
    assert got["hold_errors"] == 0
    assert got["hold_errors_64"] == 0
    # 300 holds on every other slot of a working week: about six weeks, a part of them in the 31 days
    assert got["slots_crowded_holds"] == 300
    assert 0 < got["slots_crowded_holds_in_range"] < 300
    assert got["slots_crowded_returned"] > 0
    assert got["slots_returned"] > 0
    (row,) = got["fanout"]
    assert row["clients"] == 300
    assert row["delivered"] == 1.0
    assert {"p50_ms", "p99_ms", "kb_per_connection"} <= row.keys()
    assert plot.read_bytes().startswith(b"\x89PNG")
    floor = {row["variant"]: row for row in got["floor"]}
    assert set(floor) == set(VARIANTS)
    assert all(row["clients"] == 40 and row["delivered"] == 1.0 for row in floor.values())
    assert "race_winners" in output  # the table
