"""``GATEWAY_SMTP_URL``'s two forms against TLS servers: ``smtp://user:pass@…`` upgrades with STARTTLS
when the server offers it (and then logs in), ``smtps://`` speaks TLS from the first byte; a server
whose certificate cannot be verified gets nothing."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.assembly import build_worker
from gateway.notify.email import EmailChannel
from gateway.notify.worker import Worker
from gateway.settings import Settings
from tests.integration.notify.messaging_support import confirm, deliveries, pool, settle, with_notify
from tests.support import Clinic, free_port, patient

Client = AsyncTestClient[Litestar]


@dataclass
class Seen:
    """What the TLS server saw of each message: over TLS? logged in as whom?"""

    mails: list[tuple[bool, str | None, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = auth_data == LoginPassword(b"mailer", b"p@ss word")
        return AuthResult(success=ok, auth_data=auth_data.login.decode() if ok else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert server.transport is not None
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.mails.append((over_tls, session.auth_data, list(envelope.rcpt_tos)))
        return "250 OK"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return _certificate(tmp_path)


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway trusts the test's certificate (as if a CA had signed it)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_notify(settings)


@contextmanager
def _serve(seen: Seen, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(seen, hostname="127.0.0.1", port=port, ready_timeout=30, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def _book_and_send(client: Client, clinic: Clinic, settings: Settings, smtp_url: str) -> None:
    mailing = with_notify(settings, smtp_url=smtp_url)
    await confirm(
        client, clinic, clinic.at(3, 9), await patient(client, clinic), {"name": "P", "email": "p@example.org"}
    )
    async with pool(mailing) as db:
        await settle(build_worker(mailing, db), mailing)


async def test_smtp_upgrades_with_starttls_then_logs_in(
    client: Client, clinic: Clinic, settings: Settings, server_tls: ssl.SSLContext, trusted: None
) -> None:
    seen = Seen()
    # the server refuses anything before STARTTLS, and AUTH without TLS: only an upgraded session gets through
    with _serve(
        seen, tls_context=server_tls, require_starttls=True, authenticator=seen.authenticate, auth_require_tls=True
    ) as port:
        await _book_and_send(client, clinic, settings, f"smtp://mailer:p%40ss%20word@127.0.0.1:{port}")
    assert seen.logins == [("mailer", "p@ss word")]  # the URL's user and password, percent-decoded
    assert seen.mails == [(True, "mailer", ["p@example.org"])]
    (found,) = await deliveries(settings, "email")
    assert (found["status"], found["attempts"]) == ("delivered", 1)


async def test_smtps_speaks_tls_from_the_first_byte(
    client: Client, clinic: Clinic, settings: Settings, server_tls: ssl.SSLContext, trusted: None
) -> None:
    seen = Seen()
    with _serve(seen, ssl_context=server_tls) as port:
        await _book_and_send(client, clinic, settings, f"smtps://127.0.0.1:{port}")
    assert seen.mails == [(True, None, ["p@example.org"])]


class QuickEmail(EmailChannel):
    schedule: ClassVar[tuple[float, ...]] = (0.0,)


async def test_a_certificate_that_cannot_be_verified_gets_nothing(
    client: Client, clinic: Clinic, settings: Settings, server_tls: ssl.SSLContext
) -> None:
    seen = Seen()
    with _serve(seen, ssl_context=server_tls) as port:
        mailing = with_notify(settings, smtp_url=f"smtps://127.0.0.1:{port}")
        await confirm(
            client, clinic, clinic.at(3, 9), await patient(client, clinic), {"name": "P", "email": "p@example.org"}
        )
        async with pool(mailing) as db:
            await settle(Worker(db, [QuickEmail.from_settings(mailing, db)]), mailing)
    assert seen.mails == []
    (found,) = await deliveries(settings, "email")
    assert (found["status"], found["attempts"]) == ("failed", 2)
    assert "certificate" in found["last_error"].lower()
