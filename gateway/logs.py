"""Logs: one JSON object per line, a request id on every line a request causes, no secrets.

Every record the processes write (uvicorn's, the gateway's, the worker's) goes through one
handler on stderr. With ``GATEWAY_LOG_FORMAT=json`` (the default) each line is an object::

    {"ts": "2026-12-05T07:59:01.123Z", "level": "info", "logger": "gateway.access",
     "msg": "POST /v1/holds 201", "request_id": "5f0c…", "method": "POST",
     "path": "/v1/holds", "status": 201, "duration_ms": 3.1}

``text`` writes the same fields as a readable line, for a terminal.

Request ids: the request middleware (:func:`gateway.metrics.metrics_middleware`) takes the
caller's ``X-Request-ID`` when it is a plain token of at most 64 characters (so a proxy's id
follows the request through), makes one otherwise, sends it back in the response's
``X-Request-ID`` header and keeps it in a context variable for the request's task: any line
logged while the request runs carries it. A live stream (SSE, WebSocket) does the same in its
own head (:func:`stream_opened`) and keeps nothing. Background work (the worker, the sweeper) logs
``action`` fields of its own instead.

Secrets: no code here logs a token, key or secret on purpose; as a second line of defence every
message, argument and field passes :func:`redact`, which blanks what looks like one (manage links,
staff keys, webhook secrets, JWTs, bearer headers, hold tokens) before it is written.
``tests/integration/gateway/test_logs.py`` runs a gateway through every kind of secret and greps
its whole log for each.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal

import msgspec

LogFormat = Literal["json", "text"]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request whose task is running, for every line it logs."""

HEADER = b"x-request-id"
_ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
"""A caller's request id is taken as it is only when it is a short plain token (no spaces,
quotes or control characters that could forge a log line)."""

SECRETS = re.compile(
    r"(?P<keep>mng_|gk_|gd_|whsec_|[Bb]earer\s+)[A-Za-z0-9_\-.+/=]+"
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
    r"|(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{54}(?![A-Za-z0-9_\-])"
)
"""What looks like a credential: a manage link token, a staff key, a webhook secret, a bearer
header's value, a JWT (partner and session tokens), a 54-character hold token."""

FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client", "action", "doctor_id", "count")
"""Record attributes (``extra=``) written as fields of their own, in this order."""


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``."""
    return SECRETS.sub(lambda m: (m.group("keep") or "") + "[redacted]", text)


def request_id_for(headers: list[tuple[bytes, bytes]] | Any) -> str:
    """The caller's ``X-Request-ID`` when acceptable, else a fresh one (16 hex digits)."""
    for name, value in headers:
        if name == HEADER:
            if _ACCEPTED.fullmatch(value):
                return str(value.decode())
            break
    return os.urandom(8).hex()


ACCESS = logging.getLogger("gateway.access")
"""One line per request (and per stream opened)."""


def stream_opened(scope: Any) -> bytes:
    """The request id of a live stream (SSE or WebSocket) that is being opened, for its head; logs
    the stream's line. Nothing of it is kept: an idle stream's every byte counts."""
    rid = request_id_for(scope.get("headers", ()))
    if ACCESS.isEnabledFor(logging.INFO):
        method, path = scope.get("method", "WEBSOCKET"), scope["path"]
        ACCESS.info("%s %s stream", method, path, extra={"request_id": rid, "method": method, "path": path})
    return rid.encode()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, redacted (see the module's doc)."""

    _encode = msgspec.json.Encoder().encode

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        _fields(record, doc)
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return self._encode(doc).decode()


class TextFormatter(logging.Formatter):
    """``ts level logger: message key=value …``, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {}
        _fields(record, doc)
        extra = "".join(f" {k}={v}" for k, v in doc.items())
        line = f"{_timestamp(record.created)} {record.levelname} {record.name}: {redact(record.getMessage())}{extra}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


def _timestamp(created: float) -> str:
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1000):03d}Z"


def _fields(record: logging.LogRecord, doc: dict[str, Any]) -> None:
    current = REQUEST_ID.get()
    if current is not None:
        doc["request_id"] = current  # ``extra={"request_id": …}`` (a stream's) overrides it below
    for name in FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            doc[name] = redact(value) if isinstance(value, str) else value


def config(log_format: LogFormat, level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for every logger of the process (uvicorn's included): one
    stderr handler with the chosen formatter. Given to uvicorn as its ``log_config``, so each
    worker process it spawns sets it up too."""
    formatter = "gateway.logs.JsonFormatter" if log_format == "json" else "gateway.logs.TextFormatter"
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": formatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "gateway", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's loggers write through the root handler; its access log is off (ours replaces it)
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def setup(log_format: LogFormat, level: str = "info") -> None:
    """Configure this process's logging (the CLI's commands other than ``serve``)."""
    import logging.config

    logging.config.dictConfig(config(log_format, level))
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # one line, one write
