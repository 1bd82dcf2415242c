"""Logs: one JSON object per line, the request id in the response and on the request's line, and
not one of the secrets a gateway hands out or receives in any line it writes."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from gateway import logs
from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from tests.support import ADMIN_TOKEN, start_server


def record(msg: str, *args: Any, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("gateway.test", logging.INFO, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /manage/mng_AAAA.BBBB-_ 200", "GET /manage/mng_[redacted] 200"),
        ("key gk_abcDEF123-_x and gd_zz", "key gk_[redacted] and gd_[redacted]"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==", "secret whsec_[redacted]"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln done", "token [redacted] done"),
        ("hold " + "A" * 54 + " gone", "hold [redacted] gone"),
        ("doctor 0b6c2a1e-8d7e-4f5a-9c3b-2d1e0f9a8b7c at 2026-12-05T09:00:00Z", None),
    ],
)
def test_redact_blanks_what_looks_like_a_credential_and_nothing_else(text: str, expected: str | None) -> None:
    assert logs.redact(text) == (text if expected is None else expected)


def test_a_json_line_has_the_fields_and_the_request_id_of_its_context() -> None:
    formatter = logs.JsonFormatter()
    token = logs.REQUEST_ID.set("req-1")
    try:
        line = formatter.format(record("%s %s %d", "GET", "/manage/mng_x.y", 200, status=200, duration_ms=1.5))
    finally:
        logs.REQUEST_ID.reset(token)
    doc = json.loads(line)
    assert doc["msg"] == "GET /manage/mng_[redacted] 200"
    assert (doc["level"], doc["logger"], doc["request_id"], doc["status"], doc["duration_ms"]) == (
        "info", "gateway.test", "req-1", 200, 1.5,
    )  # fmt: skip
    assert doc["ts"].endswith("Z")
    assert "request_id" not in json.loads(formatter.format(record("outside any request")))


@pytest.mark.parametrize(
    ("sent", "kept"),
    [(b"edge-7f3a:42", True), (b"has space", False), (b"x" * 65, False), (b'quote"', False), (b"", False)],
)
def test_a_callers_request_id_is_kept_only_when_it_is_a_short_plain_token(sent: bytes, kept: bool) -> None:
    got = logs.request_id_for([(b"x-request-id", sent)])
    assert (got == sent.decode()) is kept
    if not kept:
        assert len(got) == 16 and int(got, 16) >= 0


def created(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    r = http.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_a_served_gateway_logs_json_lines_with_request_ids_and_no_secret(
    settings: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_LOG_LEVEL", "info")
    server = start_server(settings, str(tmp_path), {"GATEWAY_WEBHOOK_ALLOW_PRIVATE": "on"})
    secrets = [ADMIN_TOKEN, settings.secret_key]
    platform = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            slug = f"logs-{uuid.uuid4().hex[:8]}"
            org = created(http, "/v1/admin/organisations", {"name": "Logs", "slug": slug}, platform)["id"]
            key = created(http, f"/v1/admin/organisations/{org}/api-keys", {}, platform)["key"]
            admin = {"Authorization": f"Bearer {key}"}
            doctor = created(
                http, "/v1/admin/doctors", {"organisation_id": org, "name": "Dr. Log", "timezone": "UTC"}, admin
            )["id"]
            credential = created(http, f"/v1/admin/doctors/{doctor}/credentials", {}, admin)["token"]
            for weekday in range(1, 8):
                created(
                    http, f"/v1/doctors/{doctor}/availability-windows",
                    {"weekday": weekday, "start_minute": 0, "end_minute": 1440}, admin,
                )  # fmt: skip
            kind = created(
                http,
                "/v1/admin/appointment-types",
                {"organisation_id": org, "name": "Talk", "duration_minutes": 30},
                admin,
            )["id"]
            booking = created(http, f"/v1/organisations/{org}/booking-secrets", {}, admin)
            webhook = created(
                http, f"/v1/admin/organisations/{org}/webhooks",
                {"url": "http://127.0.0.1:9/hook", "event_types": ["appointment.booked"]}, admin,
            )  # fmt: skip
            session = created(http, "/v1/sessions", {"organisation_slug": slug}, {})["token"]
            now = int(time.time())
            partner = jwt.encode(
                {"sub": "p-1", "iat": now, "exp": now + 600, "email": "p@example.org"},
                booking["secret"], algorithm="HS256", headers={"kid": booking["key_id"]},
            )  # fmt: skip
            start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
            hold = http.post(
                "/v1/holds",
                json={"doctor_id": doctor, "appointment_type_id": kind, "start": start.isoformat()},
                headers={"Authorization": f"Bearer {partner}", "X-Request-ID": "client-req-1"},
            )
            assert hold.status_code == 201, hold.text
            assert hold.headers["x-request-id"] == "client-req-1"
            confirmed = http.post(
                f"/v1/holds/{hold.json()['hold_id']}/confirm",
                json={"patient": {"name": "Pat", "email": "p@example.org"}},
                headers={"Authorization": f"Bearer {partner}", "X-Hold-Token": hold.json()["hold_token"]},
            )
            assert confirmed.status_code == 201, confirmed.text
            appointment = confirmed.json()["appointment"] if "appointment" in confirmed.json() else confirmed.json()
            manage = ManageLinks(settings.secret_key, server.url).token(
                uuid.UUID(appointment["id"]), datetime.now(UTC) + timedelta(days=3)
            )
            page = http.get(f"/manage/{manage}")
            assert page.status_code == 200, page.text
            with http.stream(
                "GET",
                f"/v1/doctors/{doctor}/events",
                headers={"Accept": "text/event-stream", "X-Request-ID": "stream-1"},
            ) as stream:
                assert stream.status_code == 200 and stream.headers["x-request-id"] == "stream-1"
            refused = http.get("/v1/me", headers={"Authorization": "Bearer gk_not-a-real-key-but-still-secret"})
            assert refused.status_code == 401
            minted = refused.headers["x-request-id"]
            secrets += [
                key, credential, booking["secret"], webhook["secret"], session, partner,
                hold.json()["hold_token"], manage, "gk_not-a-real-key-but-still-secret",
            ]  # fmt: skip
    finally:
        server.stop()
    text = server.log()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "the gateway logged nothing at info"
    requests = [line for line in lines if line["logger"] == "gateway.access"]
    by_id = {line.get("request_id"): line for line in requests}
    assert by_id["client-req-1"]["path"] == "/v1/holds" and by_id["client-req-1"]["status"] == 201
    assert by_id[minted]["status"] == 401 and len(minted) == 16
    assert any(line["path"] == "/manage/mng_[redacted]" for line in requests)
    assert by_id["stream-1"]["msg"] == f"GET /v1/doctors/{doctor}/events stream"
    leaked = [s[:12] + "…" for s in secrets if s in text]
    assert not leaked, f"secrets in the log: {leaked}"
