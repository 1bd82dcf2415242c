"""Load the Lua scripts (package files) and register them with a Redis client."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

NAMES = (
    "hold", "release", "confirm_begin", "confirm_end", "expire", "snapshot", "warm", "due_remove", "free", "resync",
)  # fmt: skip


def source(name: str) -> str:
    """A hold script's text with the shared helpers prepended."""
    folder = resources.files("holds") / "scripts"
    lib = (folder / "_lib.lua").read_text(encoding="utf-8")
    body = (folder / f"{name}.lua").read_text(encoding="utf-8")
    return lib + "\n" + body


def package_script(package: str, name: str) -> str:
    """The text of ``<package>/scripts/<name>.lua``: every Redis script is a file of the package it
    belongs to (``broadcast``, ``gateway``), never a string in Python (a test keeps it so)."""
    return (resources.files(package) / "scripts" / f"{name}.lua").read_text(encoding="utf-8")


class Scripts:
    """Every hold script, registered once per client (EVALSHA, falling back to EVAL)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._scripts: dict[str, AsyncScript] = {n: redis.register_script(source(n)) for n in NAMES}

    def evalsha(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> tuple[Any, ...]:
        """A script call as a :class:`~holds.batch.Batcher` command: a plain ``EVALSHA``.

        redis-py's own way (``script(..., client=pipe)``) sends ``SCRIPT EXISTS`` before every
        pipeline that carries a script: a second round trip on the hot path. The batcher instead
        loads a script only when Redis answers ``NOSCRIPT`` (it restarted or flushed its scripts).
        """
        return (self._scripts[name], len(keys), *keys, *args)
