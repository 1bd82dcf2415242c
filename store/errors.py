"""asyncpg's constraint errors mapped to what they mean for the clinic."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors."""


class Overlap(StoreError):
    """The EXCLUDE constraint refused an appointment: the doctor is busy then (docs/design.md, invariant 1)."""


class Duplicate(StoreError):
    """A UNIQUE constraint refused a row."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint or "unique")
        self.constraint = constraint


class Missing(StoreError):
    """A foreign key points at nothing."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint or "foreign key")
        self.constraint = constraint
