"""Webhook routes: an organisation's subscriptions, their deliveries' log, replay.

The organisation's admins (an admin key) and the platform operator may use them. A subscription
or delivery of another organisation answers 404 (its existence does not leak); an organisation
in the path that the caller does not administer answers 403, like the other admin routes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway import cursors
from gateway.auth import Principal
from gateway.clinic.service import allow
from gateway.deps import Caller, Db, Svc
from gateway.errors import Conflict, NotFound, ValidationFailed
from gateway.settings import Settings
from gateway.webhooks import schemas
from gateway.webhooks.service import WebhookSecrets, message_id, new_secret
from gateway.webhooks.ssrf import UrlRefused, check_url
from store import clinic as clinic_repo
from store import webhooks as repo
from store.types import Conn
from store.webhooks import DeliveryRecord, Webhook

NO_STORE = CacheControlHeader(no_store=True)
"""The answer carries the signing secret: no cache may keep a copy."""
ORG_WEBHOOKS = "/v1/admin/organisations/{organisation_id:uuid}/webhooks"
ONE_WEBHOOK = ORG_WEBHOOKS + "/{webhook_id:uuid}"
TAGS = ["notifications"]
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def _out(hook: Webhook) -> schemas.WebhookOut:
    return schemas.WebhookOut(
        id=hook.id,
        organisation_id=hook.organisation_id,
        url=hook.url,
        event_types=hook.event_types,
        headers=schemas.shown_headers(hook.headers),
        description=hook.description,
        enabled=hook.enabled,
        disabled_reason=hook.disabled_reason,
        failing_since=hook.failing_since,
        created_at=hook.created_at,
        updated_at=hook.updated_at,
    )


async def _url(url: str, settings: Settings) -> str:
    try:
        return await check_url(url, allow_private=settings.notify.webhook_allow_private)
    except UrlRefused as exc:
        raise ValidationFailed(f"url: {exc}", code="webhook_url_refused", field="url") from None


async def _organisation(db: Conn, caller: Principal, organisation_id: uuid.UUID) -> None:
    allow(caller.administers(organisation_id))
    if await clinic_repo.get_organisation(db, organisation_id) is None:
        raise NotFound(f"Organisation {organisation_id} not found.")


async def _webhook(db: Conn, caller: Principal, webhook_id: uuid.UUID) -> Webhook:
    """A subscription the caller administers: 404 for one of another organisation (or deleted)."""
    hook = await repo.get(db, webhook_id)
    if hook is None or (caller.role != "platform" and caller.organisation_id != hook.organisation_id):
        raise NotFound(f"Webhook {webhook_id} not found.")
    allow(caller.administers(hook.organisation_id), "Only the organisation's admins may see its webhooks.")
    return hook


@post(
    ORG_WEBHOOKS, tags=TAGS, security=SECURITY, cache_control=NO_STORE, summary="Subscribe a URL to events"
)  # fmt: skip
async def create_webhook(
    db: Db, svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], data: JSONBody[schemas.WebhookIn]
) -> schemas.WebhookCreated:
    """A new webhook subscription. Its signing ``secret`` (``whsec_…``) is shown only in this answer.

    422 ``webhook_url_refused`` for a URL that is not https (http needs
    ``GATEWAY_WEBHOOK_ALLOW_PRIVATE=on``), carries credentials, or resolves to a loopback, private,
    link-local or other non-public address; ``unknown_event_type``, ``invalid_header`` and
    ``too_many_headers`` for the other fields; 409 ``too_many_webhooks`` past 20 subscriptions.
    """
    await _organisation(db, caller, organisation_id)
    event_types = schemas.check_event_types(data.event_types)
    headers = schemas.check_headers(data.headers)
    url = await _url(data.url, svc.settings)
    webhook_id, secret = uuid.uuid4(), new_secret()
    hook = await repo.create(
        db,
        webhook_id,
        organisation_id,
        url=url,
        event_types=event_types,
        headers=headers,
        description=data.description,
        secret_ciphertext=WebhookSecrets(svc.settings.secret_key).seal(webhook_id, secret),
    )
    if hook is None:
        raise Conflict(
            f"An organisation may have at most {repo.MAX_PER_ORGANISATION} webhooks; delete one first.",
            code="too_many_webhooks",
        )
    shown = msgspec.structs.asdict(_out(hook)) | {"headers": hook.headers}
    return schemas.WebhookCreated(**shown, secret=secret)


@get(ORG_WEBHOOKS, tags=TAGS, security=SECURITY, summary="List the webhook subscriptions")
async def list_webhooks(db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID]) -> list[schemas.WebhookOut]:
    """The organisation's subscriptions (not deleted ones), oldest first, without their secrets."""
    await _organisation(db, caller, organisation_id)
    return [_out(h) for h in await repo.list_for(db, organisation_id)]


@patch(ONE_WEBHOOK, tags=TAGS, security=SECURITY, summary="Change a webhook subscription")
async def update_webhook(
    db: Db,
    svc: Svc,
    caller: Caller,
    organisation_id: FromPath[uuid.UUID],
    webhook_id: FromPath[uuid.UUID],
    data: JSONBody[schemas.WebhookPatch],
) -> schemas.WebhookOut:
    """Change the URL (checked again), event types, headers (all replaced), description, or
    ``enabled``: ``true`` re-enables a disabled subscription and forgets its failures."""
    await _organisation(db, caller, organisation_id)
    hook = await _webhook(db, caller, webhook_id)
    if hook.organisation_id != organisation_id:
        raise NotFound(f"Webhook {webhook_id} not found.")
    unset = msgspec.UnsetType
    changed = await repo.update(
        db,
        webhook_id,
        organisation_id,
        url=None if isinstance(data.url, unset) else await _url(data.url, svc.settings),
        event_types=None if isinstance(data.event_types, unset) else schemas.check_event_types(data.event_types),
        headers=None if isinstance(data.headers, unset) else schemas.check_headers(data.headers),
        description=None if isinstance(data.description, unset) else (data.description,),
        enabled=None if isinstance(data.enabled, unset) else data.enabled,
    )
    if changed is None:  # deleted meanwhile
        raise NotFound(f"Webhook {webhook_id} not found.")
    return _out(changed)


@delete(ONE_WEBHOOK, tags=TAGS, security=SECURITY, summary="Delete a webhook subscription")
async def delete_webhook(
    db: Db, caller: Caller, organisation_id: FromPath[uuid.UUID], webhook_id: FromPath[uuid.UUID]
) -> None:
    """No new deliveries from now on; pending ones end ``dead`` when next attempted."""
    await _organisation(db, caller, organisation_id)
    if not await repo.delete(db, webhook_id, organisation_id):
        raise NotFound(f"Webhook {webhook_id} not found.")


def _delivery(d: DeliveryRecord) -> schemas.DeliveryOut:
    return schemas.DeliveryOut(
        id=d.id,
        event_type=d.event_type,
        message_id=message_id(d.message_id),
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


@get(
    "/v1/admin/webhooks/{webhook_id:uuid}/deliveries", tags=TAGS, security=SECURITY,
    summary="A webhook subscription's deliveries",
)  # fmt: skip
async def list_deliveries(
    db: Db,
    caller: Caller,
    webhook_id: FromPath[uuid.UUID],
    cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    limit: Annotated[int, QueryParameter(name="limit", description="1..100")] = 20,
) -> schemas.DeliveryPage:
    """The deliveries' log, newest first: each message's status, attempts, last answer and error."""
    if not 1 <= limit <= 100:
        raise ValidationFailed("limit: between 1 and 100", field="limit")
    after = cursors.decode_int(cursor) if cursor else None
    await _webhook(db, caller, webhook_id)
    rows = await repo.deliveries(db, webhook_id, after=after, limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return schemas.DeliveryPage(
        items=[_delivery(d) for d in page],
        next_cursor=cursors.encode(page[-1].created_at, page[-1].outbox_id) if more and page else None,
    )


@post(
    "/v1/admin/webhook-deliveries/{delivery_id:uuid}/replay", tags=TAGS, security=SECURITY, status_code=202,
    summary="Send a webhook delivery again",
)  # fmt: skip
async def replay_delivery(db: Db, caller: Caller, delivery_id: FromPath[uuid.UUID]) -> schemas.ReplayOut:
    """Send the message again, with the same ``webhook-id``, as soon as a worker is free (after the
    attempt under way, if there is one). 409 ``webhook_disabled``: enable the subscription first."""
    owner = await repo.delivery_owner(db, delivery_id)
    if owner is None or (caller.role != "platform" and caller.organisation_id != owner.organisation_id):
        raise NotFound(f"Webhook delivery {delivery_id} not found.")
    hook = await _webhook(db, caller, owner.webhook_id)
    if not hook.enabled:
        raise Conflict(
            f"The webhook is disabled ({hook.disabled_reason}); enable it before replaying.", code="webhook_disabled"
        )
    busy = await repo.replay(db, delivery_id)
    return schemas.ReplayOut(id=delivery_id, after_attempt_under_way=busy)


router = Router(
    path="/",
    route_handlers=[create_webhook, list_webhooks, update_webhook, delete_webhook, list_deliveries, replay_delivery],
)
