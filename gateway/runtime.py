"""Process-level tuning for a served gateway (``gateway serve``), not for apps built in tests.

The garbage collector: a full (generation 2) collection walks every tracked object, and a
process holding thousands of live connections has millions of them; such collections paused
fan-out for 120-200 ms. So once the app has started, everything that exists then (modules,
routes, the pool, the hub) is moved out of the collector's sight with :func:`gc.freeze`, and
the thresholds are raised so that full collections come rarely. Reference counting still frees
almost everything the moment it is dropped; only garbage cycles wait a little longer.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)
"""Generation 0 is collected after 50,000 net allocations (default 700); a full collection after
20 x 100 younger ones, and CPython then also waits until a quarter of the old objects are new."""


def tune_gc() -> None:
    """Freeze what the start-up left behind and raise the collection thresholds (once the app runs)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
