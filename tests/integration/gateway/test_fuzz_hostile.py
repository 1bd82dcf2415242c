"""Every JSON route and query parameter, fed what broke it before: NUL bytes, lone surrogates,
instants at and past the calendar's edges, deep nesting. Never a 5xx."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic

Client = AsyncTestClient[Litestar]

EDGE_INSTANTS = [
    "9999-12-30T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "+10000-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999Z",
]
HOSTILE_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\x00" * 300, "é" * 5000, "-1", str(2**70)]
DEEP = "<deep>"
JSON = {"content-type": "application/json"}
HOSTILE = EDGE_INSTANTS + HOSTILE_TEXT + [DEEP]
"""A lone surrogate cannot be sent as UTF-8: in a body JSON carries it as an escape (json.dumps's
default), in a query string httpx sends what it can; both must end in a 4xx."""


def operations(app: Litestar) -> list[tuple[str, str, list[str], list[str]]]:
    """``(method, path, query parameter names, top-level JSON body fields)`` of every JSON route."""
    schema = app.openapi_schema.to_schema()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            query = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields: set[str] = set()
            for candidate in [body, *body.get("oneOf", []), *body.get("anyOf", [])]:
                ref = candidate.get("$ref", "")
                resolved = components.get(ref.rsplit("/", 1)[-1], candidate) if ref else candidate
                fields |= set(resolved.get("properties", {}))
            found.append((method.upper(), path, query, sorted(fields)))
    return found


def fill(path: str, clinic: Clinic) -> str:
    ids = {"doctor": clinic.doctor_id, "organisation": clinic.organisation_id, "type": clinic.type_30}

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        for hint, value in ids.items():
            if hint in name:
                return value
        return "bk_x" if name == "key_id" else str(uuid.uuid4())

    return re.sub(r"\{([a-z_]+)(?::[a-z]+)?\}", one, path)


@pytest.mark.timeout(300)
async def test_no_json_route_or_query_parameter_answers_5xx(
    client: Client, clinic: Clinic, admin: dict[str, str], app: Litestar
) -> None:
    ops = operations(app)
    assert len(ops) > 30  # the whole API, not a corner of it
    tried = 0
    failures = []
    for method, path, query, fields in ops:
        url = fill(path, clinic)
        for value in HOSTILE:
            # each query parameter and each body field gets each hostile value (one at a time)
            for name in query:
                # raw bytes as a client may send them: a surrogate becomes invalid UTF-8 (%ED%A0%80)
                encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
                r = await client.request(method, f"{url}?{name}={encoded}", headers=admin)
                tried += 1
                if r.status_code >= 500:
                    failures.append((method, url, name, value, r.text[:200]))
            for name in fields:
                body: Any = {name: value if value != DEEP else [[[[[[]]]]]]}
                raw = json.dumps(body).encode()  # ASCII escapes: a lone surrogate travels as \\ud800
                r = await client.request(method, url, content=raw, headers=admin | JSON)
                tried += 1
                if r.status_code >= 500:
                    failures.append((method, url, name, value, r.text[:200]))
    assert tried > 500
    assert not failures, failures[:10]
