"""A manage link's token never reaches a log line, though it travels in the page's path."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.logredact import RedactTokens, uvicorn_log_config
from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from tests.support import start_server


def test_the_access_record_loses_the_token_and_keeps_the_rest() -> None:
    token = ManageLinks("k" * 40, "http://x").token(uuid.uuid4(), datetime.now(UTC) + timedelta(hours=1))
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/manage/{token}?lang=de", "1.1", 200), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    line = record.getMessage()
    assert token not in line
    assert line == '127.0.0.1:5000 - "GET /manage/mng_[redacted]?lang=de HTTP/1.1" 200'
    handlers = uvicorn_log_config()["handlers"]
    assert all(h["filters"] == ["redact_tokens"] for h in handlers.values())


def test_a_served_gateway_logs_manage_page_views_without_their_token(
    settings: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_LOG_LEVEL", "info")  # uvicorn writes access lines at info
    server = start_server(settings, str(tmp_path))
    try:
        links = ManageLinks(settings.secret_key, server.url)
        token = links.token(uuid.uuid4(), datetime.now(UTC) + timedelta(hours=2))
        answer = httpx.get(f"{server.url}/manage/{token}", timeout=10)
        assert answer.status_code == 404  # a well-signed link to no appointment
    finally:
        server.stop()
    log = server.log()
    assert "GET /manage/mng_[redacted] HTTP/1.1" in log
    assert token not in log
    assert token.split(".")[1] not in log  # not even its signature
