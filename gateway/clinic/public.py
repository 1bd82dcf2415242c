"""The public clinic directory: an organisation's services and doctors, for the clinic page.

No token: the same facts a booking link already shows (names, zones, durations, prices). The
doctors' contact details and the types' internal rules (notice, buffers, hold lengths) stay out.
"""

from __future__ import annotations

import re

from litestar import get
from litestar.params import FromPath

from gateway.clinic import schemas
from gateway.deps import Db
from gateway.errors import NotFound
from store import clinic as repo

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""What an organisation's slug may be (``schemas.Slug``); anything else names no clinic."""


async def directory(db: Db, slug: str) -> schemas.ClinicDirectory:
    """The organisation named by ``slug``: its services (with who offers each) and its doctors.

    Raises:
        NotFound: no organisation has this slug.
    """
    organisation = await repo.get_organisation_by_slug(db, slug) if _SLUG.fullmatch(slug) else None
    if organisation is None:
        raise NotFound(f"No clinic is called {slug!r}.")
    doctors = sorted(await repo.list_doctors(db, organisation.id), key=lambda d: (d.name.casefold(), str(d.id)))
    everyone = [d.id for d in doctors]
    services = []
    for t in await repo.list_types(db, organisation.id):
        offering = [d for d in everyone if t.offered_by(d)]
        if not offering:
            continue  # nobody to book it with: not a service the page can offer
        services.append(
            schemas.DirectoryService(
                id=t.id,
                name=t.name,
                duration_minutes=t.duration_minutes,
                requires_approval=t.requires_approval,
                payment_mode=t.payment_mode,
                fee_cents=t.fee_cents,
                token_amount_cents=t.token_amount_cents,
                advance_percent=t.advance_percent,
                currency=t.currency,
                doctor_ids=offering,
            )
        )
    return schemas.ClinicDirectory(
        organisation=schemas.DirectoryOrganisation(id=organisation.id, name=organisation.name, slug=organisation.slug),
        services=services,
        doctors=[schemas.DirectoryDoctor(id=d.id, name=d.name, timezone=d.timezone) for d in doctors],
    )


@get("/v1/clinics/{slug:str}", tags=["clinic"])
async def get_clinic(db: Db, slug: FromPath[str]) -> schemas.ClinicDirectory:
    """A clinic's public directory (no token): its services, each with the doctors who offer it, and
    its doctors (name and zone). 404 ``not_found`` for an unknown slug."""
    return await directory(db, slug)


handlers = [get_clinic]
