"""The faces: the public booking page, the doctor's live schedule, the admin overview, the widget,
and a patient's "manage my booking" page.

The pages are plain HTML, CSS and JS with no build step (``web/``). The server fills in only
what the booking page's first paint needs (names, ids); everything else, and everything live,
comes from the JSON API in the browser. The staff pages (``/doctor``, ``/admin``) are static:
the signed-in token lives in the tab's ``sessionStorage``, never in a URL. The manage page
(``/manage/{token}``) is the exception: its token is the link a patient was emailed, so the page
sends no referrer, may not be framed and is never cached.

The embeddable widget is loaded by partner sites from another origin: ``/widget.js`` is a
classic script (so it can find its own ``src``) that imports the widget's ES modules from
``/static/widget/`` (which import ``/static/common/``, shared with the booking page;
``/static/book/`` stays public too, as the contract lists it). Module scripts are fetched with
CORS, so these public files carry ``Access-Control-Allow-Origin: *`` unless the gateway's CORS
middleware already answers for the origin (two such headers would fail).
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import re
import urllib.parse
import uuid
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Annotated, Any, cast

from litestar import MediaType, Request, Response, Router, get, head
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.deps import Db, Svc
from gateway.errors import NotFound, Unauthorized
from gateway.pagetext import language, text
from gateway.pagetext import when as local_when
from gateway.state import services_of
from gateway.timeutil import zone
from store import clinic as repo
from store.models import AppointmentType, Doctor
from store.types import Conn

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# Pages are small and change with the clinic's data; never cache them. Assets revalidate (ETag),
# so a deploy shows up on the next load without cache-busting names.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": _CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# Staff pages and the manage page handle bearer tokens: no framing (clickjacking), no referrer at all.
_STAFF_HEADERS = _PAGE_HEADERS | {
    "Content-Security-Policy": f"{_CSP}; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""What an organisation's slug may be; anything else names no clinic (and is never queried)."""
# Partners embed one stable URL; a few minutes of caching spares their visitors a round trip
# while a deploy still reaches everyone soon.
WIDGET_CACHE_SECONDS = 300


def web_dir(*parts: str) -> Path:
    """A folder of the ``web`` package (``web/book``, ``web/widget``, …), wherever it is installed."""
    # joinpath gives a real folder both for an installed package and for a source checkout
    # that an editable install maps as a namespace package.
    return Path(str(importlib.resources.files("web").joinpath(*parts)))


def book_dir() -> Path:
    """The booking page's files (``web/book``)."""
    return web_dir("book")


@functools.cache
def _read(folder: str, name: str) -> str:
    return (web_dir(folder) / name).read_text(encoding="utf-8")


def _page(name: str, status: int, **values: str) -> Response[str]:
    body = Template(_read("book", name)).substitute({k: html.escape(v, quote=True) for k, v in values.items()})
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def _lang(request: Request[Any, Any, Any]) -> str:
    return language(request.headers.get("accept-language"))


def _in_language(response: Response[str], lang: str) -> Response[str]:
    """A page written in the reader's language says which, and that the answer depends on it (caches)."""
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


def _not_found(lang: str, key: str, **values: str) -> Response[str]:
    page = _page(
        "not-found.html",
        404,
        lang=lang,
        title=text(lang, "book.title"),
        heading=text(lang, "book.heading"),
        message=text(lang, key, **values),
        hint=text(lang, "book.hint"),
    )
    return _in_language(page, lang)


def _as_uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def _appointment_type(db: Conn, doctor: Doctor, raw: str | None) -> AppointmentType | None:
    """The asked-for type if the doctor offers it, else (none asked for) the first type they offer."""
    if raw is None:
        types = [t for t in await repo.list_types(db, doctor.organisation_id) if t.offered_by(doctor.id)]
        return types[0] if types else None
    type_id = _as_uuid(raw)
    found = await repo.get_type(db, type_id) if type_id else None
    offered = found is not None and found.organisation_id == doctor.organisation_id and found.offered_by(doctor.id)
    return found if offered else None


def _payment_page(template: str | None, organisation_slug: str) -> str:
    """The organisation's payment page (the booking page's payment hook), or "" without one."""
    if not template:
        return ""
    return template.replace("{organisation_slug}", urllib.parse.quote(organisation_slug, safe=""))


@get("/book/{doctor_id:str}", include_in_schema=False)
async def booking_page(
    request: Request[Any, Any, Any],
    db: Db,
    svc: Svc,
    doctor_id: FromPath[str],
    appointment_type_id: Annotated[str | None, QueryParameter(name="appointment_type_id")] = None,
) -> Response[str]:
    """The public booking page of one doctor and one appointment type.

    Args:
        request: The request (its ``Accept-Language`` chooses the not-found page's language).
        db: The database pool.
        svc: The services (for the settings: the payment hook).
        doctor_id: The doctor to book (a UUID; anything else gets the not-found page).
        appointment_type_id: The type to book; default the organisation's first type.

    Returns:
        The page, or a friendly 404 page when the doctor or the type is unknown.
    """
    doctor_uuid = _as_uuid(doctor_id)
    doctor = await repo.get_doctor(db, doctor_uuid) if doctor_uuid else None
    if doctor is None:
        return _not_found(_lang(request), "book.no_doctor")
    kind = await _appointment_type(db, doctor, appointment_type_id)
    if kind is None:
        return _not_found(_lang(request), "book.not_offered", doctor=doctor.name)
    organisation = await repo.get_organisation(db, doctor.organisation_id)
    return _page(
        "index.html",
        200,
        doctor_id=str(doctor.id),
        doctor_name=doctor.name,
        doctor_timezone=doctor.timezone,
        appointment_type_id=str(kind.id),
        appointment_type_name=kind.name,
        duration_minutes=str(kind.duration_minutes),
        organisation_name=organisation.name if organisation else "",
        organisation_slug=organisation.slug if organisation else "",
        payment_page=_payment_page(
            (organisation.payment_page_url if organisation else None) or svc.settings.payment_page_url,
            organisation.slug if organisation else "",
        ),
    )


@get("/clinic/{slug:str}", include_in_schema=False)
async def clinic_page(request: Request[Any, Any, Any], db: Db, slug: FromPath[str]) -> Response[str]:
    """A clinic's public page: pick a service, then a doctor or "any doctor", then a time.

    The page reads ``GET /v1/clinics/{slug}`` and the doctors' slots itself; the server fills in
    only the organisation's name and slug. An unknown slug gets a friendly 404 page.
    """
    organisation = await repo.get_organisation_by_slug(db, slug) if _SLUG.fullmatch(slug) else None
    if organisation is None:
        lang = _lang(request)
        words = {"lang": lang} | {part: text(lang, f"clinic.{part}") for part in ("title", "heading", "message")}
        body = Template(_read("clinic", "not-found.html")).substitute(words)
        page = Response(body, status_code=404, media_type=MediaType.HTML, headers=_PAGE_HEADERS)
        return _in_language(page, lang)
    values = {"organisation_name": organisation.name, "organisation_slug": organisation.slug}
    body = Template(_read("clinic", "index.html")).substitute(
        {k: html.escape(v, quote=True) for k, v in values.items()}
    )
    return Response(body, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


@get(["/favicon.svg", "/favicon.ico"], include_in_schema=False)
async def favicon() -> Response[str]:
    """The gateway's icon (one SVG; ``/favicon.ico`` is where browsers look when a page links none)."""
    return Response(
        _read("", "favicon.svg"),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def _staff_page(folder: str) -> Response[str]:
    return Response(_read(folder, "index.html"), media_type=MediaType.HTML, headers=_STAFF_HEADERS)


@get("/doctor", include_in_schema=False)
async def doctor_page() -> Response[str]:
    """The doctor's live schedule: today and the week, windows and days off (sign in with ``gd_…``)."""
    return _staff_page("doctor")


@get("/admin", include_in_schema=False)
async def admin_page() -> Response[str]:
    """The organisation's overview: appointments, doctors' windows, booking secrets (``gk_…``)."""
    return _staff_page("admin")


@get("/desk", include_in_schema=False)
async def desk_page() -> Response[str]:
    """The front desk: live holds (release), booking for a patient, meet now (``gk_…`` or platform + slug)."""
    return _staff_page("desk")


def _when(moved_to: dict[str, Any], lang: str) -> str:
    """A moved appointment's new start, in the patient's zone: "Tuesday 8 December 2026, 15:00 (Europe/Berlin)"."""
    tz = zone(moved_to.get("timezone") or "UTC")
    return local_when(datetime.fromisoformat(str(moved_to["start"])).astimezone(tz), tz.key, lang)


def _manage_refused(exc: Unauthorized, lang: str) -> Response[str]:
    """What a link that opens nothing shows: expired, moved (and when to), or not a link at all."""
    status, kind = 404, "invalid"
    message = text(lang, "manage.invalid")
    if exc.code == "manage_link_expired":
        status, kind = 410, "expired"
        message = text(lang, "manage.expired")
    elif exc.code == "manage_link_moved":
        status, kind = 410, "moved"
        message = text(lang, "manage.moved")
        moved_to = exc.extra.get("moved_to")
        if isinstance(moved_to, dict):
            message = text(lang, "manage.moved_to", when=_when(moved_to, lang))
            if moved_to.get("status") == "cancelled":
                message += " " + text(lang, "manage.moved_cancelled")
    values = {
        "lang": lang,
        "title": text(lang, f"manage.{kind}.title"),
        "message": message,
        "hint": text(lang, "manage.hint"),
        "code": exc.code,
    }
    body = Template(_read("manage", "refused.html")).substitute({k: html.escape(v) for k, v in values.items()})
    return _in_language(Response(body, status_code=status, media_type=MediaType.HTML, headers=_STAFF_HEADERS), lang)


@get("/manage/{token:str}", include_in_schema=False)
async def manage_page(request: Request[Any, Any, Any], svc: Svc, token: FromPath[str]) -> Response[str]:
    """A patient's page for one appointment, opened by the signed link every email carries.

    The page shows the appointment and lets the patient cancel, move, add it to a calendar and
    join it; it calls the API with the link's token. A link that opens nothing gets a page that
    says why (404 not a link, 410 expired or moved).
    """
    try:
        who = await svc.auth.manage(token)
    except Unauthorized as exc:
        return _manage_refused(exc, _lang(request))
    assert who.appointment_id is not None and who.organisation_id is not None
    organisation = await repo.get_organisation(svc.db, who.organisation_id)
    values = {"appointment_id": str(who.appointment_id), "organisation_name": organisation.name if organisation else ""}
    body = Template(_read("manage", "index.html")).substitute({k: html.escape(v) for k, v in values.items()})
    return Response(body, media_type=MediaType.HTML, headers=_STAFF_HEADERS)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def public_cors(app: ASGIApp) -> ASGIApp:
    """Let any origin load these public files as module scripts (``Access-Control-Allow-Origin: *``).

    An origin an organisation allowed gets its own name from the gateway's CORS middleware
    instead: a second header would make the browser refuse the file.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin")
        answered = origin is not None and origin in await services_of(scope).origins.union()

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and not answered:
                extra = [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]
                message = cast("Message", {**message, "headers": [*message.get("headers", []), *extra]})
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware


@get("/widget.js", include_in_schema=False, middleware=[public_cors])
async def widget_script() -> Response[str]:
    """The embeddable widget's loader, for ``<script src="https://GATEWAY/widget.js" data-doctor=…>``."""
    return Response(
        _read("widget", "widget.js"),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": f"public, max-age={WIDGET_CACHE_SECONDS}", "X-Content-Type-Options": "nosniff"},
    )


@head("/widget.js", include_in_schema=False, middleware=[public_cors])
async def widget_script_head() -> Response[None]:
    """``HEAD /widget.js``: the loader's headers without its body (link checkers, CDNs, uptime probes)."""
    return Response(
        None,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": f"public, max-age={WIDGET_CACHE_SECONDS}", "X-Content-Type-Options": "nosniff"},
    )


def _no_nul(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a path with a NUL (``/static/book/%00``) names no file; the file system would raise."""
    if "\x00" in connection.scope["path"]:
        raise NotFound("No such file.")


def _static(folder: str, *, shared: bool = False) -> Router:
    """``/static/<folder>/…``: the files of ``web/<folder>``, revalidated on every use (ETag)."""
    options: dict[str, Any] = {"middleware": [public_cors]} if shared else {}
    return create_static_files_router(
        path=f"/static/{folder}",
        directories=[web_dir(folder)],
        cache_control=CacheControlHeader(no_cache=True),
        name=f"{folder}-static",
        guards=[_no_nul],
        **options,
    )


router = Router(
    path="/",
    route_handlers=[
        booking_page,
        doctor_page,
        admin_page,
        desk_page,
        manage_page,
        clinic_page,
        favicon,
        widget_script,
        widget_script_head,
        # The widget imports these from partner sites (module scripts are fetched with CORS).
        _static("book", shared=True),
        _static("common", shared=True),
        _static("widget", shared=True),
        _static("doctor"),
        _static("admin"),
        _static("desk"),
        _static("manage"),
        _static("clinic"),
    ],
)
