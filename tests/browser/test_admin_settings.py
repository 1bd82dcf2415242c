"""The admin page's clinic settings: partner sites, admin notices, the rating alert and the payment page,
saved together and explained at the field when refused (nothing saved then)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.accessibility import look
from tests.browser.test_admin_signin_search import DESKTOP, shown, sign_in
from tests.support import ADMIN_TOKEN, Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def organisation(server: LiveServer, clinic: Clinic) -> dict[str, Any]:
    r = httpx.get(
        f"{server.url}/v1/admin/organisations/{clinic.organisation_id}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_an_admin_sets_partner_sites_notices_and_the_payment_page(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    page: Page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    await page.get_by_role("link", name="Clinic settings").click()
    form = page.locator("#settings-form")
    await expect(form).to_have_attribute("aria-busy", "false")
    await expect(page.get_by_label("Alert the admins about ratings of")).to_have_value("2")  # the default

    origins = page.get_by_label("Partner sites that may embed the booking widget")
    await origins.fill("https://partner.example\nhttps://Other.example/\n")
    await page.get_by_label("Where admin notices go").fill("desk@clinic.example\nowner@clinic.example")
    await page.get_by_label("Alert the admins about ratings of").select_option("3")
    payment = page.get_by_label("Payment page")
    await payment.fill("https://pay.clinic.example/{organisation_slug}")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#status")).to_contain_text("Clinic settings saved")
    await expect(page.locator("#settings-heading")).to_be_focused()
    await expect(origins).to_have_value("https://other.example\nhttps://partner.example")  # as the gateway keeps them
    saved = organisation(live_server, live_clinic)
    assert saved["allowed_origins"] == ["https://other.example", "https://partner.example"]
    assert saved["admin_emails"] == ["desk@clinic.example", "owner@clinic.example"]
    assert saved["low_rating_threshold"] == 3
    assert saved["payment_page_url"] == "https://pay.clinic.example/{organisation_slug}"

    # refused at the field, by the page (an origin with a path) or the gateway (plain http): nothing saved
    await origins.fill("https://partner.example/shop")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-origins-error")).to_contain_text("is not a site address")
    await expect(origins).to_be_focused()
    await expect(origins).to_have_attribute("aria-invalid", "true")
    await origins.fill("https://partner.example")
    await page.get_by_label("Alert the admins about ratings of").select_option("0")
    await payment.fill("http://pay.clinic.example/")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-payment-error")).to_have_text(
        "The payment page must use https (plain http only to this machine, for development)."
    )
    await expect(page.locator("#status")).to_have_text("")  # the earlier "saved" is gone
    await expect(payment).to_be_focused()
    await expect(page.locator("#settings-origins-error")).to_be_hidden()
    await look(page, "admin-settings-refused")
    assert organisation(live_server, live_clinic)["low_rating_threshold"] == 3  # every field or none

    # empty: back to the deployment's payment page
    await payment.fill("")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#status")).to_contain_text("Clinic settings saved")
    saved = organisation(live_server, live_clinic)
    assert saved["payment_page_url"] is None and saved["low_rating_threshold"] == 0
    assert saved["allowed_origins"] == ["https://partner.example"]
