"""A local SMTP server that keeps every message as an ``.eml`` file: what ``make run`` sends mail to.

Development only: it listens on loopback, accepts every message for every address, and writes it
(exactly as received, headers and MIME parts) to ``<folder>/<time>-<n>.eml``, which any mail
program opens. Nothing is sent on.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Keep:
    """The aiosmtpd handler: each message becomes one file."""

    def __init__(self, folder: Path, announce: Callable[[str], None] | None) -> None:
        self.folder = folder
        self.announce = announce
        self.count = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self.count):04d}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(raw)
        os.replace(partial, path)  # readers never see half a message
        if self.announce is not None:
            subject = " ".join(str(BytesHeaderParser().parsebytes(raw).get("Subject", "")).split())  # unfolded
            self.announce(f"mail to {', '.join(envelope.rcpt_tos)}: {subject} -> {path}")
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on ``127.0.0.1`` and a free port, in a thread of its own, while in a ``with``.

    Args:
        folder: where the ``.eml`` files go (made if missing).
        announce: called with one line per message caught (``make run`` prints it).
    """

    def __init__(self, folder: Path, announce: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self._handler = _Keep(folder, announce)
        self.port = 0
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The ``GATEWAY_SMTP_URL`` that sends mail here."""
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> MailCatcher:
        self.folder.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self.port = _free_port()
            controller = Controller(self._handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
            try:
                controller.start()
            except OSError:  # the port was taken between finding it free and binding it
                if attempt == 2:
                    raise
                continue
            self._controller = controller
            break
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
