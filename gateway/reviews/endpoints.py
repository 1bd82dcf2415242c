"""Routes of reviews. Thin: parse, authorise, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.deps import Caller, Db, Svc
from gateway.reviews import schemas, service

Id = FromPath[uuid.UUID]
REVIEW = "/v1/appointments/{appointment_id:uuid}/review"


@post(
    REVIEW,
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="Review a completed appointment",
    description=(
        "The appointment's patient rates it 1 to 5, with an optional comment (2000 characters at"
        " most), once it is ``completed``: 201. 409 ``not_completed`` before, ``already_reviewed``"
        " the second time; 403 ``patients_only`` for staff; 404 for anyone else. A rating at or"
        " under the organisation's ``low_rating_threshold`` alerts its admins (``review.low_rating``)."
    ),
)
async def create_review(
    svc: Svc, caller: Caller, appointment_id: Id, data: JSONBody[schemas.ReviewIn]
) -> schemas.ReviewOut:
    return service.review_out(await service.create(svc.db, caller, appointment_id, data))


@get(
    REVIEW,
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="An appointment's review",
    description=(
        "For the appointment's patient, its doctor and its organisation's admins; 404 ``not_reviewed``"
        " while it has none."
    ),
)
async def get_review(db: Db, caller: Caller, appointment_id: Id) -> schemas.ReviewOut:
    return service.review_out(await service.get(db, caller, appointment_id))


@get(
    "/v1/admin/organisations/{organisation_id:uuid}/reviews",
    tags=["notifications"],
    security=[{"bearer": []}],
    summary="An organisation's reviews",
    description="Newest first, all doctors' or one's (``doctor_id``); the organisation's admins.",
)
async def list_reviews(
    db: Db,
    caller: Caller,
    organisation_id: Id,
    doctor_id: Annotated[uuid.UUID | None, QueryParameter(name="doctor_id")] = None,
    cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    limit: Annotated[int, QueryParameter(name="limit", description="1..50")] = 20,
) -> schemas.ReviewPage:
    rows, next_cursor = await service.page(db, caller, organisation_id, doctor_id=doctor_id, cursor=cursor, limit=limit)
    return schemas.ReviewPage(items=[service.review_out(r) for r in rows], next_cursor=next_cursor)


router = Router(path="/", route_handlers=[create_review, get_review, list_reviews])
