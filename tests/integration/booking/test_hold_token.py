"""A hold is read and acted on only with its own token (``X-Hold-Token``)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, patient

Client = AsyncTestClient[Litestar]


async def test_another_holds_token_of_the_same_doctor_reads_nothing(client: Client, clinic: Clinic) -> None:
    victim, attacker = await patient(client, clinic), await patient(client, clinic)
    holds = []
    for who, hour in ((victim, 10), (attacker, 11)):
        r = await client.post(
            "/v1/holds",
            json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(3, hour)},
            headers=who,
        )
        assert r.status_code == 201, r.text
        holds.append(r.json())
    theirs, mine = holds
    # the attacker's own token names the same doctor, so it used to find the victim's hold
    url = f"/v1/holds/{theirs['hold_id']}"
    for headers in ({"X-Hold-Token": mine["hold_token"]}, {}):
        r = await client.get(url, headers=headers)
        assert r.status_code in (401, 404), r.text
        assert "hold_token" not in r.text or r.json()["code"] == "hold_token_required"
    r = await client.get(url, headers={"X-Hold-Token": theirs["hold_token"]})
    assert r.status_code == 200 and r.json()["status"] == "held"
