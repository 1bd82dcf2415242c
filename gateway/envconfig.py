"""Settings structs filled from the environment: each variable and its default written once.

A field names its variable in its metadata, ``Annotated[int, Env("GATEWAY_X")] = 30``; its default
is the struct's own. :func:`load` walks a settings struct (nested sections included), reads each
named variable that is set, turns its text into the field's type and lets msgspec check the
field's constraints (``msgspec.Meta(gt=0)``…). Lower layers (``store/settings.py``) declare their
variables the same way without importing anything from here: ``Env`` is plain msgspec metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

T = TypeVar("T", bound=msgspec.Struct)

FLAGS = {"1": True, "on": True, "true": True, "yes": True, "0": False, "off": False, "false": False, "no": False}


def Env(name: str, **constraints: Any) -> msgspec.Meta:
    """The metadata naming a field's environment variable (and any msgspec constraints)."""
    return msgspec.Meta(extra={"env": name}, **constraints)


def load(cls: type[T], env: Mapping[str, str]) -> T:
    """``cls`` with every field whose variable is set in ``env`` read from it; defaults elsewhere.

    Raises:
        ValueError: naming the variable whose value cannot be used.
    """
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        kind, name = _unwrap(field.type)
        if name is None:
            if isinstance(kind, mi.StructType):
                values[field.name] = load(kind.cls, env)
            continue
        raw = env.get(name, "")
        if raw.strip() == "":
            continue
        names[field.name] = name
        values[field.name] = _parse(name, raw, kind)
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("$.")[2].strip("`").split(".")[0].split("[")[0]
        name = names.get(path, path)
        raise ValueError(f"{name}: {str(exc).partition(' - at ')[0]}") from None


def _unwrap(kind: mi.Type) -> tuple[mi.Type, str | None]:
    if isinstance(kind, mi.Metadata):
        name = (kind.extra or {}).get("env")
        return kind.type, name
    return kind, None


def _parse(name: str, raw: str, kind: mi.Type) -> Any:
    """The variable's text as what the field holds (constraints are msgspec's to check)."""
    if isinstance(kind, mi.UnionType):  # `X | None`: set means X
        kind = next(t for t in kind.types if not isinstance(t, mi.NoneType))
    if isinstance(kind, mi.BoolType):
        flag = FLAGS.get(raw.strip().lower())
        if flag is None:
            raise ValueError(f"{name} must be on or off, got {raw!r}")
        return flag
    if isinstance(kind, mi.IntType):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if isinstance(kind, mi.FloatType):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if isinstance(kind, mi.StructType):  # a value with a text form of its own (a rate: 20/60)
        parse = getattr(kind.cls, "parse", None)
        if parse is None:
            raise TypeError(f"{kind.cls.__name__} has no parse(name, raw) for {name}")
        return msgspec.to_builtins(parse(name, raw))
    return raw
