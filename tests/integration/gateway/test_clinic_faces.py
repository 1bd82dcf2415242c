"""What the faces need from the gateway besides JSON: the clinic page and its 404, the favicon,
``HEAD /widget.js``, a read from an origin no clinic allowed refused readably, and ``gateway
demo`` naming the clinic page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.support import Clinic, settings_env

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]
REPO = Path(__file__).resolve().parents[3]


async def test_the_clinic_page_is_served_with_the_pages_headers(client: Client, admin: Headers) -> None:
    r = await client.post("/v1/admin/organisations", json={"name": "Dr <Ada> & Co", "slug": "ada-co"}, headers=admin)
    assert r.status_code == 201, r.text
    name, slug = "Dr &lt;Ada&gt; &amp; Co", "ada-co"
    r = await client.get(f"/clinic/{slug}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert f"<h1>{name}</h1>" in r.text
    assert f'data-slug="{slug}"' in r.text
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in r.text
    for path in ("/static/clinic/main.js", "/static/clinic/times.js", "/static/clinic/strings.js"):
        r = await client.get(path)
        assert r.status_code == 200, path
    for slug in ("no-such-clinic", "UPPER", "a%00b", "x" * 200):
        r = await client.get(f"/clinic/{slug}")
        assert r.status_code == 404, slug
        assert "We could not find this clinic" in r.text


async def test_favicon_and_head_of_the_widget(client: Client) -> None:
    for path in ("/favicon.svg", "/favicon.ico"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.startswith("<svg")
    r = await client.head("/widget.js")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cache-control"].startswith("public, max-age=")
    r = await client.get("/widget.js")
    assert r.status_code == 200 and "/static/widget/element.js" in r.text


async def test_a_read_from_an_origin_no_clinic_allowed_is_refused_readably(
    client: Client, clinic: Clinic, admin: Headers
) -> None:
    partner, stranger = "https://partner.example", "https://stranger.example"
    r = await client.patch(
        f"/v1/admin/organisations/{clinic.organisation_id}", json={"allowed_origins": [partner]}, headers=admin
    )
    assert r.status_code == 200
    slots = f"/v1/doctors/{clinic.doctor_id}/slots?appointment_type_id={clinic.type_30}"
    r = await client.get(slots, headers={"Origin": stranger})
    assert (r.status_code, r.json()["code"]) == (403, "origin_not_allowed")
    assert r.headers["access-control-allow-origin"] == "*"  # the widget can read why
    assert stranger in r.json()["detail"]
    r = await client.get(f"/v1/clinics/{clinic.slug}", headers={"Origin": stranger})
    assert (r.status_code, r.json()["code"]) == (403, "origin_not_allowed")
    # an allowed origin, the gateway's own pages (no Origin) and the public files are unchanged
    r = await client.get(slots, headers={"Origin": partner})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == partner
    r = await client.get(slots)
    assert r.status_code == 200
    r = await client.get("/static/widget/element.js", headers={"Origin": stranger})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_gateway_demo_prints_the_clinic_page(settings: Settings) -> None:
    env = settings_env(settings) | {"PYTHONPATH": str(REPO), "GATEWAY_PUBLIC_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "clinic page: http://127.0.0.1:9/clinic/demo" in done.stdout


async def test_a_booking_page_offers_only_a_type_its_doctor_offers(
    client: Client, clinic: Clinic, admin: Headers
) -> None:
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Other", "timezone": "UTC"},
        headers=admin,
    )
    other = r.json()["id"]
    r = await client.put(
        f"/v1/admin/appointment-types/{clinic.type_30}/doctors", json={"doctor_ids": [other]}, headers=admin
    )
    assert r.status_code == 200
    r = await client.get(f"/book/{clinic.doctor_id}?appointment_type_id={clinic.type_30}")
    assert r.status_code == 404
    r = await client.get(f"/book/{other}?appointment_type_id={clinic.type_30}")
    assert r.status_code == 200
    r = await client.get(f"/book/{clinic.doctor_id}")  # no type asked for: the first one the doctor offers
    assert r.status_code == 200 and f'data-appointment-type-id="{clinic.type_60}"' in r.text


def test_every_page_of_ours_links_the_icon() -> None:
    # a partner's demo page is the partner's, not ours
    web = Path(__file__).resolve().parents[3] / "web"
    pages = [p for p in web.rglob("*.html") if "partner-demo" not in p.parts]
    assert len(pages) >= 9
    missing = [str(p.relative_to(web)) for p in pages if '<link rel="icon" href="/favicon.svg"' not in p.read_text()]
    assert missing == []


async def test_the_pages_the_server_writes_speak_the_readers_language(client: Client, clinic: Clinic) -> None:
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    pages = {
        "/clinic/no-such-clinic": ("Wir konnten diese Praxis nicht finden", "We could not find this clinic"),
        "/book/not-a-doctor": ("Wir konnten diese Buchungsseite nicht öffnen", "We could not open this booking page"),
        f"/book/{clinic.doctor_id}?appointment_type_id=00000000-0000-0000-0000-000000000000": (
            "ist diese Terminart nicht online buchbar",
            "has no appointment of this kind to book online",
        ),
        "/manage/mng_x.y": ("kein gültiger Link zur Verwaltung einer Buchung", "not a valid link to manage a booking"),
    }
    for path, (in_german, in_english) in pages.items():
        r = await client.get(path, headers=german)
        assert r.status_code == 404, path
        assert '<html lang="de">' in r.text and in_german in r.text and in_english not in r.text, path
        assert r.headers["content-language"] == "de" and r.headers["vary"] == "Accept-Language", path
        r = await client.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})  # one we do not write
        assert '<html lang="en">' in r.text and in_english in r.text, path
        assert r.headers["content-language"] == "en", path
