"""Fixtures for browser tests: one headless Chromium per session, pages on a live gateway.

The tests drive the system's Chromium (``/usr/bin/chromium``) through Playwright's async API;
Playwright's own browser downloads are never used. Async, not sync: the sync API keeps its
event loop marked as running between calls, and then pytest-asyncio cannot set up the async
fixtures (``settings``) of later tests. The browser lives in the session's loop, so every
browser test runs in that loop (``loop_scope="session"``). Without Chromium these tests fail (they do
not skip): a booking page nobody has seen work in a browser is not tested.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support import ADMIN_TOKEN, Clinic, LiveServer, free_port

CHROMIUM = os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

OpenPage = Callable[..., Awaitable[Page]]
MakeClinic = Callable[..., Clinic]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium for the whole session."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium) "
            "or point BROWSER_TEST_CHROMIUM at a Chromium binary. Browser tests do not skip.",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (git ignores it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def build_clinic(base_url: str, **type_rules: Any) -> Clinic:
    """Like :func:`tests.support.make_clinic`, against a running gateway over HTTP."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    timezone = "Europe/Berlin"
    with httpx.Client(base_url=base_url, headers=admin, timeout=10) as http:

        def created(path: str, body: dict[str, Any]) -> str:
            r = http.post(path, json=body)
            assert r.status_code == 201, r.text
            ident: str = r.json()["id"]
            return ident

        slug = f"c-{uuid.uuid4().hex[:10]}"
        org = created("/v1/admin/organisations", {"name": "Riverside Clinic", "slug": slug})
        doctor = created("/v1/admin/doctors", {"organisation_id": org, "name": "Dr. Ada Test", "timezone": timezone})
        for weekday in range(1, 8):
            created(
                f"/v1/doctors/{doctor}/availability-windows",
                {"weekday": weekday, "start_minute": 480, "end_minute": 1080},
            )
        types = [
            created(
                "/v1/admin/appointment-types",
                {"organisation_id": org, "name": f"{minutes}-minute consultation", "duration_minutes": minutes}
                | type_rules,
            )
            for minutes in (30, 60)
        ]
    return Clinic(org, doctor, timezone, types[0], types[1], slug)


@pytest.fixture
def make_live_clinic(live_server: LiveServer) -> MakeClinic:
    """Make clinics on this test's gateway; keyword arguments are appointment type rules."""
    return lambda **rules: build_clinic(live_server.url, **rules)


@pytest.fixture
def live_clinic(make_live_clinic: MakeClinic) -> Clinic:
    """A clinic on this test's gateway, open every day 08:00-18:00 Berlin time."""
    return make_live_clinic()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser, live_server: LiveServer) -> AsyncIterator[OpenPage]:
    """Open a booking page in a fresh browser context (its own cookies, zone and size).

    Call it as ``open_page(path, timezone_id="America/New_York", viewport=...)``. Uncaught
    JavaScript errors on any page fail the test.
    """
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def opener(path: str, timezone_id: str = "Europe/Berlin", **options: Any) -> Page:
        context = await browser.new_context(
            base_url=live_server.url, timezone_id=timezone_id, **({"locale": "en-GB"} | options)
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        await page.goto(path)
        return page

    yield opener
    for context in contexts:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# --- staff and partners, for the widget, doctor and admin pages ---------------------------------


class Staff:
    """What a clinic's staff do through the API: keys, credentials, secrets, origins, bookings."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _call(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            r = http.request(method, path, headers=auth | (headers or {}), **kwargs)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.content else None

    def admin_key(self, clinic: Clinic) -> str:
        """A new ``gk_…`` key of the clinic's organisation."""
        key: str = self._call("POST", f"/v1/admin/organisations/{clinic.organisation_id}/api-keys")["key"]
        return key

    def doctor_token(self, doctor_id: str) -> str:
        """A new ``gd_…`` credential of the doctor."""
        token: str = self._call("POST", f"/v1/admin/doctors/{doctor_id}/credentials")["token"]
        return token

    def booking_secret(self, clinic: Clinic) -> tuple[str, str]:
        """A new booking secret of the organisation: ``(key_id, secret)``."""
        made = self._call("POST", f"/v1/organisations/{clinic.organisation_id}/booking-secrets")
        return made["key_id"], made["secret"]

    def allow_origins(self, clinic: Clinic, *origins: str) -> None:
        self._call("PATCH", f"/v1/admin/organisations/{clinic.organisation_id}", json={"allowed_origins": origins})

    def book(
        self, clinic: Clinic, start: str, type_id: str | None = None, name: str = "Grace Hopper"
    ) -> dict[str, Any]:
        """Book ``start`` as an anonymous patient of the clinic's public page; the appointment."""
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            r = http.post("/v1/sessions", json={"organisation_slug": clinic.slug})
            assert r.status_code == 201, r.text
            patient = {"Authorization": f"Bearer {r.json()['token']}"}
            body = {"doctor_id": clinic.doctor_id, "appointment_type_id": type_id or clinic.type_30, "start": start}
            r = http.post("/v1/holds", json=body, headers=patient)
            assert r.status_code == 201, r.text
            hold = r.json()
            r = http.post(
                f"/v1/holds/{hold['hold_id']}/confirm",
                json={"patient": {"name": name, "email": "patient@example.org"}},
                headers=patient | {"X-Hold-Token": hold["hold_token"]},
            )
        assert r.status_code == 201, r.text
        appointment: dict[str, Any] = r.json()["appointment"]
        return appointment

    def cancel(self, appointment_id: str, reason: str) -> None:
        """Cancel as the platform operator."""
        self._call("POST", f"/v1/appointments/{appointment_id}/cancel", json={"reason": reason})

    def reschedule(self, appointment: dict[str, Any], start: str) -> dict[str, Any]:
        """Move an appointment as the platform operator: hold the new slot, move onto it; the new one."""
        body = {k: appointment[k] for k in ("doctor_id", "appointment_type_id")} | {"start": start}
        hold = self._call("POST", "/v1/holds", json=body)
        moved: dict[str, Any] = self._call(
            "POST",
            f"/v1/appointments/{appointment['id']}/reschedule",
            json={"hold_id": hold["hold_id"]},
            headers={"X-Hold-Token": hold["hold_token"]},
        )
        return moved


@pytest.fixture
def staff(live_server: LiveServer) -> Staff:
    return Staff(live_server.url)


PARTNER_DEMO = Path(__file__).resolve().parents[2] / "web" / "partner-demo"


class PartnerSite:
    """A partner's website on its own loopback origin: the demo page (``web/partner-demo``) with
    the widget embedded from the gateway, and the partner backend's token endpoint, which mints
    booking tokens (JWT HS256, ``kid`` = the booking secret's key id) for its visitor.
    """

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.page: dict[str, str] = {}
        self.secret: tuple[str, str] | None = None
        self.claims: dict[str, Any] = {"sub": "partner-patient-1"}
        self.tokens_minted = 0
        self.payments: list[dict[str, Any]] = []  # what the widget asked the payment endpoint
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/booking-token":
                    site.tokens_minted += 1
                    self.answer(200, "application/json", json.dumps({"token": site.mint()}))
                elif path in ("/", "/index.html"):
                    html = Template((PARTNER_DEMO / "index.html").read_text(encoding="utf-8"))
                    self.answer(200, "text/html; charset=utf-8", html.substitute(gateway=site.gateway, **site.page))
                elif path == "/partner.css":
                    self.answer(200, "text/css", (PARTNER_DEMO / "partner.css").read_text(encoding="utf-8"))
                else:
                    self.answer(404, "text/plain", "not found")

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != "/payment":
                    self.answer(404, "text/plain", "not found")
                    return
                asked = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                site.payments.append(asked)
                self.answer(200, "application/json", json.dumps({"reference": f"partner-pay-{len(site.payments)}"}))

            def answer(self, status: int, media_type: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="partner-site", daemon=True)
        self.thread.start()

    def embed(self, doctor_id: str, appointment_type_id: str, secret: tuple[str, str]) -> None:
        """Show this doctor and type on the demo page, and sign tokens with this booking secret."""
        self.page = {"doctor_id": doctor_id, "appointment_type_id": appointment_type_id}
        self.secret = secret

    def mint(self) -> str:
        assert self.secret is not None, "call embed() first"
        key_id, secret = self.secret
        now = int(time.time())
        claims = {"iat": now, "exp": now + 600} | self.claims
        return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key_id})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def partner_site(live_server: LiveServer) -> Iterator[PartnerSite]:
    """The demo partner site on a second loopback origin, embedding this test's gateway."""
    site = PartnerSite(live_server.url)
    yield site
    site.close()
