"""Booking out a calendar, as an attacker would try it: fresh sessions, many holds, one address."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Rate, Settings, TrustSettings
from tests.integration.trust.test_partner_tokens import mint, new_secret, org_admin
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[Client]:
    """An app with the abuse limits on (the suite turns them off), bookings per address at 3."""
    on = msgspec.structs.replace(
        settings, rate_limits=True, trust=TrustSettings(anonymous_bookings_per_address=Rate(3, 3600))
    )
    async with AsyncTestClient(app=create_app(on), timeout=30) as client:
        yield client


async def hold(client: Client, clinic: Clinic, hour: int, who: dict[str, str], minute: int = 0) -> Any:
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, hour, minute)}
    return await client.post("/v1/holds", json=body, headers=who)


async def confirm(client: Client, held: dict[str, Any], who: dict[str, str], email: str) -> Any:
    return await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Mallory", "email": email}},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )


async def test_one_session_holds_two_slots_at_most(guarded: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(guarded, admin)
    me = await patient(guarded, clinic)
    first, second = [(await hold(guarded, clinic, h, me)).json() for h in (9, 10)]
    third = await hold(guarded, clinic, 11, me)
    assert third.status_code == 429 and third.json()["code"] == "too_many_holds"
    # letting one go makes room again, at once
    r = await guarded.delete(f"/v1/holds/{first['hold_id']}", headers={"X-Hold-Token": first["hold_token"]})
    assert r.status_code == 204
    assert (await hold(guarded, clinic, 11, me)).status_code == 201
    # a confirmed hold is no longer live
    assert (await confirm(guarded, second, me, "m@example.org")).status_code == 201
    assert (await hold(guarded, clinic, 12, me)).status_code == 201
    # staff are not limited
    assert [(await hold(guarded, clinic, h, admin)).status_code for h in (13, 14, 15)] == [201, 201, 201]


@pytest.mark.parametrize("skew", [1200, -1200], ids=["ahead", "behind"])
async def test_the_live_holds_limit_counts_on_redis_time_whatever_the_gateway_clock_says(
    guarded: Client, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch, skew: int
) -> None:
    # The fault suite's clock_jump: a gateway further ahead than the hold TTL (15 min here) counted
    # every live hold as lapsed (its "now" was past their deadlines), so one session could hold any
    # number of slots.
    clinic = await make_clinic(guarded, admin)
    me = await patient(guarded, clinic)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + skew)  # the gateway's Python clock
    answers = [(await hold(guarded, clinic, h, me)).status_code for h in (9, 10, 11)]
    assert answers == [201, 201, 429]


async def test_fresh_sessions_from_one_address_cannot_book_out_the_calendar(
    guarded: Client, admin: dict[str, str]
) -> None:
    clinic = await make_clinic(guarded, admin)
    codes = []
    for n in range(5):  # new session, hold, confirm, repeat: each with a fresh email
        me = await patient(guarded, clinic)
        held = await hold(guarded, clinic, 9 + n, me)
        assert held.status_code == 201, held.text
        r = await confirm(guarded, held.json(), me, f"m{n}@example.org")
        codes.append(r.json().get("code") if r.status_code != 201 else 201)
    assert codes == [201, 201, 201, "too_many_bookings", "too_many_bookings"]
    # partners vouch for their patients: their tokens are not counted per address
    staff = await org_admin(guarded, clinic, admin)
    key_id, secret = await new_secret(guarded, clinic, staff)
    partner = {"Authorization": f"Bearer {mint(key_id, secret, sub='crm-1')}"}
    held = await hold(guarded, clinic, 15, partner)
    assert (await confirm(guarded, held.json(), partner, "p@example.org")).status_code == 201


async def test_confirms_per_organisation_raise_an_alert(settings: Settings, admin: dict[str, str]) -> None:
    on = msgspec.structs.replace(
        settings, rate_limits=True, trust=TrustSettings(anonymous_confirms_per_organisation=Rate(2, 60))
    )
    async with AsyncTestClient(app=create_app(on), timeout=30) as client:
        clinic = await make_clinic(client, admin)
        codes = []
        for n in range(3):
            me = await patient(client, clinic)
            held = (await hold(client, clinic, 9 + n, me)).json()
            r = await confirm(client, held, me, f"o{n}@example.org")
            codes.append(r.status_code)
        assert codes == [201, 201, 429]
        scraped = (await client.get("/metrics")).text
        assert 'gateway_abuse_limit_total{limit="anonymous_confirms_per_organisation"}' in scraped


async def test_the_active_limit_counts_one_patient_across_sessions_and_types(
    client: Client, admin: dict[str, str]
) -> None:
    clinic = await make_clinic(client, admin, max_active_per_patient=1)
    first = await patient(client, clinic)
    held = (await hold(client, clinic, 9, first)).json()
    assert (await confirm(client, held, first, "Same@Example.org")).status_code == 201
    # a fresh session, another type, the same person: still one active booking at most
    again = await patient(client, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_60, "start": clinic.at(3, 11)}
    held = (await client.post("/v1/holds", json=body, headers=again)).json()
    r = await confirm(client, held, again, "same@example.org")
    assert r.status_code == 409 and r.json()["code"] == "too_many_active"
    # the same fresh session, the same type as before: refused at the hold already
    r = await hold(client, clinic, 13, first)
    assert r.status_code == 409 and r.json()["code"] == "too_many_active"


async def test_a_partner_sub_cannot_claim_a_sessions_patient(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    victim = await patient(client, clinic)
    held = (await hold(client, clinic, 9, victim)).json()
    booked = (await confirm(client, held, victim, "victim@example.org")).json()["appointment"]
    session_sub = jwt.decode(victim["Authorization"].split()[1], options={"verify_signature": False})["sub"]
    assert booked["patient"]["issuer"] == "session"
    # a partner of the same organisation mints a token whose sub is the victim's session reference
    key_id, secret = await new_secret(client, clinic, await org_admin(client, clinic, admin))
    forged = {"Authorization": f"Bearer {mint(key_id, secret, sub=session_sub)}"}
    assert (await client.get(f"/v1/appointments/{booked['id']}", headers=forged)).status_code == 404
    listed = (await client.get("/v1/appointments", headers=forged)).json()["items"]
    assert listed == []
    # and the partner's own references come back as the partner gave them
    partner = {"Authorization": f"Bearer {mint(key_id, secret, sub='crm-' + uuid.uuid4().hex[:6])}"}
    held = (await hold(client, clinic, 10, partner)).json()
    mine = (await confirm(client, held, partner, "p@example.org")).json()["appointment"]
    assert mine["patient"]["ref"].startswith("crm-") and mine["patient"]["issuer"] == "partner"


def test_ipv6_clients_count_per_64() -> None:
    from types import SimpleNamespace

    from gateway.ratelimit import client_network

    def of(host: str) -> str:
        return client_network(SimpleNamespace(client=SimpleNamespace(host=host)))  # type: ignore[arg-type]

    assert of("2001:db8:1:2:aaaa::1") == of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::1") != of("2001:db8:1:2::1")
    assert of("::ffff:192.0.2.7") == "192.0.2.7" and of("192.0.2.7") == "192.0.2.7"
