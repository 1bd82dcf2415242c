"""The fan-out floor (``python -m loadtests.floor``) serves each variant and measures it end to end."""

from __future__ import annotations

import pytest

from loadtests.floor import VARIANTS, measure


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_delivers_every_event_to_every_client(variant: str) -> None:
    row = measure(variant, clients=40, events=3, processes=2)

    assert row["clients"] == 40
    assert row["delivered"] == 1.0  # 3 events x 40 clients, each seen once
    assert row["p99_ms"] >= row["p50_ms"] >= 0
