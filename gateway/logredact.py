"""Bearer credentials that travel in a URL never reach a log line.

A manage link (``/manage/mng_…``) carries its token in the path, so uvicorn's access log would
write it out with every page view; anyone reading the logs could then manage that appointment.
``RedactTokens`` rewrites such paths in access records before any handler formats them.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

TOKEN_IN_PATH = re.compile(r"(mng_)[A-Za-z0-9_\-.]+")
"""A manage token anywhere in a path or query (``/manage/mng_…``, ``?token=mng_…``)."""


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Redact tokens in a record's message arguments (uvicorn's access record passes the path as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with :class:`RedactTokens` on its access handler; given
    to uvicorn (not installed afterwards), so every worker process it spawns has it too."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "gateway.logredact.RedactTokens"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_tokens"]
    return config
