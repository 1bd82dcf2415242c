"""Settings: each variable and its default written once, every variable read, bad values named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from gateway.settings import Rate, Settings

README = Path(__file__).resolve().parents[3] / "README.md"
NOT_FROM_THE_ENVIRONMENT = {"booking.max_slot_range_days"}  # the contract's 62 days, not a setting


def leaves(cls: type[msgspec.Struct], path: str = "") -> list[tuple[str, str | None, mi.Type]]:
    """``(dotted field path, variable, type)`` for every setting."""
    out = []
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        kind, name = field.type, None
        if isinstance(kind, mi.Metadata):
            name, kind = (kind.extra or {}).get("env"), kind.type
        if name is None and isinstance(kind, mi.StructType):
            out += leaves(kind.cls, f"{path}{field.name}.")
        else:
            out.append((f"{path}{field.name}", name, kind))
    return out


def read(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def other_value(default: Any, kind: mi.Type) -> tuple[str, Any]:
    """A value unlike the default, as the variable's text and as the field then holds it."""
    if isinstance(kind, mi.UnionType):
        kind = next(t for t in kind.types if not isinstance(t, mi.NoneType))
    if isinstance(kind, mi.BoolType):
        return ("off", False) if default else ("on", True)
    if isinstance(kind, mi.IntType):
        return str(default + 7), default + 7
    if isinstance(kind, mi.FloatType):
        return str(default + 0.5), default + 0.5
    if isinstance(kind, mi.StructType) and kind.cls is Rate:
        return "7/70", Rate(7, 70)
    if isinstance(kind, mi.LiteralType):
        other = next(v for v in kind.values if v != default)
        return str(other), other
    return "https://example.test/x", "https://example.test/x"


def test_every_setting_names_its_variable_once() -> None:
    fields = leaves(Settings)
    unnamed = [path for path, name, _ in fields if name is None and path not in NOT_FROM_THE_ENVIRONMENT]
    assert unnamed == []
    names = [name for _, name, _ in fields if name is not None]
    assert len(names) == len(set(names))


def test_an_empty_environment_gives_the_structs_own_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_every_variable_is_read_into_its_field() -> None:
    defaults = Settings()
    env: dict[str, str] = {}
    expected: dict[str, Any] = {}
    for path, name, kind in leaves(Settings):
        if name is None:
            continue
        env[name], expected[path] = other_value(read(defaults, path), kind)
    settings = Settings.from_env(env)
    assert {path: read(settings, path) for path in expected} == expected


def test_every_variable_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for _, name, _ in leaves(Settings) if name is not None and f"`{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("GATEWAY_SSE_PING_SECONDS", "0"),
        ("GATEWAY_SSE_PING_SECONDS", "soon"),
        ("GATEWAY_SCHEDULE_CACHE_SECONDS", "-1"),
        ("GATEWAY_DB_POOL_MIN", "two"),
        ("GATEWAY_RATE_LIMITS", "maybe"),
        ("GATEWAY_RATE_HOLDS_PER_PATIENT", "lots"),
        ("GATEWAY_RATE_HOLDS_PER_PATIENT", "0/60"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: raw})


def test_the_public_url_loses_its_trailing_slash() -> None:
    assert Settings.from_env({"GATEWAY_PUBLIC_URL": "https://clinic.example/"}).public_url == "https://clinic.example"
