"""Appointment types that ask for a payment, on the booking page and the widget: the amount and
mode are shown before confirming, a payment reference comes from the clinic's or partner's own
payment step (the gateway never processes cards), and the confirm records it.

The booking page's hook is the clinic's payment page (``GATEWAY_PAYMENT_PAGE_URL``), here a fake
one on its own loopback origin that answers by ``postMessage``; the widget's are the partner's
``data-payment-endpoint`` (the partner site's ``/payment``) and the ``booking-widget:payment`` event.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from gateway.settings import Settings
from tests import support
from tests.browser.accessibility import look
from tests.browser.conftest import build_clinic
from tests.browser.test_booking_page import DESKTOP, book_path, loaded, show_day, slot
from tests.browser.test_widget import open_day_of, widget_loaded, widget_slot
from tests.support import ADMIN_TOKEN, Clinic, LiveServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ADVANCE = {"payment_mode": "advance", "fee_cents": 8000, "advance_percent": 25, "currency": "EUR"}

PAY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pay</title></head>
<body><main><h1>Clinic payments</h1><p id="asked"></p>
<button type="button" id="pay">Pay now</button></main>
<script>
  const q = new URLSearchParams(location.search);
  document.getElementById("asked").textContent =
    [location.pathname, q.get("amount"), q.get("currency"), q.get("mode")].join(" ");
  document.getElementById("pay").addEventListener("click", () => {
    window.opener.postMessage(
      {type: "booking-payment", hold_id: q.get("hold_id"), reference: "clinic-pay-" + q.get("hold_id").slice(0, 8)},
      q.get("origin"));
    window.close();
  });
</script></body></html>"""


@pytest.fixture
def payment_site() -> Iterator[str]:
    """A clinic's payment page on its own loopback origin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = PAY_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def payments_of(server: LiveServer, clinic: Clinic) -> list[Any]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.get(
            "/v1/appointments",
            params={"doctor_id": clinic.doctor_id},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert r.status_code == 200, r.text
    return [a["payment"] for a in r.json()["items"]]


async def hold_first(page: Page, clinic: Clinic) -> str:
    start = clinic.at(2, 10)
    await show_day(page, start)
    await slot(page, start).click()
    await expect(page.locator("#hold")).to_be_visible()
    await page.get_by_label("Full name").fill("Grace Hopper")
    await page.get_by_label("Email").fill("grace@example.org")
    return start


async def test_the_booking_page_shows_the_amount_and_pays_through_the_clinics_page(
    settings: Settings, tmp_path: Path, payment_site: str, open_page: Any
) -> None:
    server = support.start_server(
        settings, str(tmp_path), {"GATEWAY_PAYMENT_PAGE_URL": f"{payment_site}/pay/{{organisation_slug}}"}
    )
    try:
        clinic = build_clinic(server.url, **ADVANCE)
        page = await loaded(await open_page(f"{server.url}{book_path(clinic)}", viewport=DESKTOP))
        await hold_first(page, clinic)
        note = page.locator("#hold-payment")
        await expect(note).to_be_visible()
        await expect(note).to_contain_text("an advance payment: €20.00")
        await look(page, "booking-payment")

        async with page.expect_popup() as popped:
            await page.get_by_role("button", name="Confirm booking").click()
        pay = await popped.value
        await expect(pay.locator("#asked")).to_have_text(f"/pay/{clinic.slug} 2000 EUR advance")
        await pay.get_by_role("button", name="Pay now").click()

        await expect(page).to_have_url(re.compile(r"/manage/mng_"))
        [payment] = payments_of(server, clinic)
        assert payment["mode"] == "advance" and payment["amount_cents"] == 2000 and payment["currency"] == "EUR"
        assert re.fullmatch(r"clinic-pay-[0-9a-f]{8}", payment["reference"])
    finally:
        server.stop()


async def test_a_payment_window_closed_without_paying_books_nothing(
    settings: Settings, tmp_path: Path, payment_site: str, open_page: Any
) -> None:
    server = support.start_server(settings, str(tmp_path), {"GATEWAY_PAYMENT_PAGE_URL": f"{payment_site}/pay"})
    try:
        clinic = build_clinic(server.url, **ADVANCE)
        page = await loaded(await open_page(f"{server.url}{book_path(clinic)}"))
        await hold_first(page, clinic)
        async with page.expect_popup() as popped:
            await page.get_by_role("button", name="Confirm booking").click()
        await (await popped.value).close()
        await expect(page.get_by_role("alert")).to_contain_text("could not arrange the payment")
        await expect(page.get_by_role("button", name="Confirm booking")).to_be_enabled()
        assert payments_of(server, clinic) == []
    finally:
        server.stop()


async def test_without_a_payment_hook_the_page_says_it_cannot_take_the_payment(
    make_live_clinic: Any, live_server: LiveServer, open_page: Any
) -> None:
    clinic = make_live_clinic(**ADVANCE)
    page = await loaded(await open_page(book_path(clinic)))
    await hold_first(page, clinic)
    await expect(page.locator("#hold-payment")).to_contain_text("cannot take one")
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.get_by_role("alert")).to_contain_text("cannot take one")
    assert payments_of(live_server, clinic) == []


async def place_widget(page: Page, clinic: Clinic, endpoint: str | None) -> None:
    """Replace the demo page's widget by one of the paid type, with or without a payment endpoint."""
    await page.evaluate(
        """([doctor, type, endpoint]) => {
            document.querySelector("booking-widget").remove();
            const widget = document.createElement("booking-widget");
            Object.assign(widget.dataset, {doctor, appointmentType: type, tokenEndpoint: "/booking-token"});
            if (endpoint) widget.dataset.paymentEndpoint = endpoint;
            document.body.append(widget);
        }""",
        [clinic.doctor_id, clinic.type_30, endpoint],
    )


async def widget_hold(page: Page, clinic: Clinic) -> None:
    start = clinic.at(2, 11)
    await open_day_of(page, start)
    await widget_slot(page, start).click()
    widget = page.locator("booking-widget")
    await expect(widget.locator("#hold-heading")).to_be_focused()
    await widget.get_by_label("Full name").fill("Ada Lovelace")
    await widget.get_by_label("Email").fill("ada@example.org")


async def test_the_widget_pays_through_the_partners_endpoint(
    live_server: LiveServer, make_live_clinic: Any, staff: Any, partner_site: Any, open_page: Any
) -> None:
    clinic = make_live_clinic(**ADVANCE)
    staff.allow_origins(clinic, partner_site.url)
    partner_site.embed(clinic.doctor_id, clinic.type_30, staff.booking_secret(clinic))
    page = await open_page(partner_site.url)
    await place_widget(page, clinic, "/payment")
    await widget_loaded(page)
    await widget_hold(page, clinic)
    widget = page.locator("booking-widget")
    await expect(widget.locator("#payment")).to_contain_text("an advance payment: €20.00")
    await look(page, "widget-payment")
    await widget.get_by_role("button", name="Confirm booking").click()

    await expect(widget.locator("#done-heading")).to_be_focused()
    [asked] = partner_site.payments
    assert asked["amount"] == 2000 and asked["currency"] == "EUR" and asked["mode"] == "advance"
    assert asked["hold_id"]
    [payment] = payments_of(live_server, clinic)
    assert payment["reference"] == "partner-pay-1" and payment["amount_cents"] == 2000


async def test_the_widget_asks_the_partners_page_by_an_event(
    live_server: LiveServer, make_live_clinic: Any, staff: Any, partner_site: Any, open_page: Any
) -> None:
    clinic = make_live_clinic(payment_mode="full", fee_cents=4500, currency="EUR")
    staff.allow_origins(clinic, partner_site.url)
    partner_site.embed(clinic.doctor_id, clinic.type_30, staff.booking_secret(clinic))
    page = await open_page(partner_site.url)
    await place_widget(page, clinic, None)
    await page.evaluate(
        """() => document.querySelector("booking-widget").addEventListener("booking-widget:payment", (event) => {
            event.preventDefault();
            window.asked = {amount: event.detail.amount, mode: event.detail.mode};
            setTimeout(() => event.detail.respond("event-pay-" + event.detail.hold_id.slice(0, 4)), 50);
        })"""
    )
    await widget_loaded(page)
    await widget_hold(page, clinic)
    await page.locator("booking-widget").get_by_role("button", name="Confirm booking").click()
    await expect(page.locator("booking-widget #done-heading")).to_be_focused()
    assert await page.evaluate("window.asked") == {"amount": 4500, "mode": "full"}
    [payment] = payments_of(live_server, clinic)
    assert payment["mode"] == "full" and re.fullmatch(r"event-pay-[0-9a-f]{4}", payment["reference"])


async def test_a_widget_nobody_pays_for_says_so(
    live_server: LiveServer, make_live_clinic: Any, staff: Any, partner_site: Any, open_page: Any
) -> None:
    clinic = make_live_clinic(payment_mode="token", token_amount_cents=500, currency="EUR")
    staff.allow_origins(clinic, partner_site.url)
    partner_site.embed(clinic.doctor_id, clinic.type_30, staff.booking_secret(clinic))
    page = await open_page(partner_site.url)
    await place_widget(page, clinic, None)
    await widget_loaded(page)
    await widget_hold(page, clinic)
    await expect(page.locator("booking-widget #payment")).to_contain_text("a booking deposit: €5.00")
    await page.locator("booking-widget").get_by_role("button", name="Confirm booking").click()
    await expect(page.locator("booking-widget").get_by_role("alert")).to_contain_text("cannot take one")
    assert payments_of(live_server, clinic) == []
