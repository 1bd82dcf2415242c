"""``/desk`` is served like the other staff pages: strict CSP, never framed, cached or referred."""

from __future__ import annotations

from tests.integration.desk.support_desk import Client


async def test_the_desk_page_and_its_modules_are_served_as_a_staff_page(client: Client) -> None:
    r = await client.get("/desk")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="/static/desk/main.js">' in r.text
    for name in ("main.js", "holds.js", "book.js", "meet.js", "desk.css"):
        assert (await client.get(f"/static/desk/{name}")).status_code == 200, name
    assert (await client.get("/static/desk/%00/x")).status_code == 404
