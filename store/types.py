"""Type names shared by the repositories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    Conn: TypeAlias = asyncpg.Pool[Any] | asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
    """Anything that runs a query: the pool, or one connection (inside a transaction)."""
    Pool: TypeAlias = asyncpg.Pool[Any]
else:
    # asyncpg's classes are not generic at run time, and Litestar evaluates annotations.
    Conn = Any
    Pool = Any
