"""Domain errors and the one handler that turns them into problem bodies.

Every error a client can see has a stable ``code``; the handler writes
``{"status", "code", "title", "detail"}`` (plus optional ``extra`` fields).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import MethodNotAllowedException
from litestar.types import ExceptionHandlersMap
from redis.exceptions import AskError, ClusterDownError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("gateway.errors")


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    status: ClassVar[int] = 400
    code: str = "bad_request"
    """Stable machine-readable code; a subclass sets its own, an instance may narrow it."""

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class ValidationFailed(GatewayError):
    status = 422
    code = "validation_error"


class InvalidTimezone(ValidationFailed):
    code = "invalid_timezone"


class InvalidPaymentPage(ValidationFailed):
    code = "invalid_payment_page_url"


class NotBookable(GatewayError):
    status = 422
    code = "not_bookable"


class Unauthorized(GatewayError):
    status = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class SlotTaken(Conflict):
    code = "slot_taken"


class HoldBusy(Conflict):
    code = "hold_busy"


class AlreadyExists(Conflict):
    code = "already_exists"


class HoldExpired(GatewayError):
    status = 410
    code = "hold_expired"


class RateLimited(GatewayError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(GatewayError):
    """A dependency cannot serve the request now; the answer says when to try again
    (``Retry-After``, 1 s unless given) and, when known, which ``dependency``."""

    status = 503
    code = "unavailable"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code=code, **({"retry_after": 1} | extra))


class SecretUnreadable(ServiceUnavailable):
    """A secret stored encrypted no longer decrypts (``GATEWAY_SECRET_KEY`` was changed): trying
    again will not help, so no ``Retry-After``."""

    code = "secret_unreadable"

    def __init__(self, detail: str) -> None:
        GatewayError.__init__(self, detail)


def problem(status: int, code: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    """Build a problem response."""
    body: dict[str, Any] = {
        "status": status,
        "code": code,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
    }
    body.update(extra)
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(body, status_code=status, headers=headers, media_type="application/problem+json")


def _gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, **exc.extra)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        # Litestar raises 400 for bodies and parameters it cannot parse; the contract says 422
        # `validation_error` for anything malformed, with the offending fields listed.
        errors = exc.extra if isinstance(exc.extra, list) else []
        detail = _describe_validation(exc.detail, errors)
        return problem(422, "validation_error", detail, errors=errors)
    if status >= 500:
        logger.error("HTTP %s: %s", status, exc.detail)
        return problem(status, "internal_error", "The gateway could not handle this request.")
    code = _HTTP_CODES.get(status, "http_error")
    if status == 400 and _caused_by_bad_json(exc):
        return problem(400, "invalid_json", f"The body is not valid JSON: {exc.detail}")
    if isinstance(exc, NotAuthorizedException):
        code = "unauthorized"
    elif isinstance(exc, PermissionDeniedException):
        code = "forbidden"
    elif isinstance(exc, NotFoundException):
        code = "not_found"
    elif isinstance(exc, MethodNotAllowedException):
        code = "method_not_allowed"
    return problem(status, code, str(exc.detail))


def _caused_by_bad_json(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, msgspec.DecodeError | SerializationException):
            return True
        seen = seen.__cause__ or seen.__context__
    return "JSON is malformed" in str(exc)


def _describe_validation(detail: str, errors: list[Any]) -> str:
    parts = []
    for err in errors:
        if isinstance(err, dict):
            key = err.get("key") or err.get("source") or "body"
            parts.append(f"{key}: {err.get('message', 'invalid')}")
    return "; ".join(parts) if parts else detail


POSTGRES_AWAY: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,  # the connection was closed under the query
    # A connection cut mid-operation (a restart) can leave asyncpg's protocol in a state it
    # refuses to leave ("another operation is in progress"); the pool discards it on release.
    asyncpg.exceptions.InternalClientError,
    # Transient refusals, not the request's fault: "too many clients" (53300), out of memory or
    # disk (53xxx), an operator's shutdown or a cancelled statement (57xxx), a deadlock or
    # serialization failure (40xxx). The caller may try again.
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TransactionRollbackError,
)
"""What Postgres being away, restarting or refusing for now looks like: 503 ``unavailable``
(``dependency: postgres``) with ``Retry-After``, never a 500 (``make faults``: postgres_restart)."""


def _redis_down(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.warning("Redis unavailable: %s", exc)
    return problem(503, "unavailable", "Redis does not answer; try again shortly.", dependency="redis", retry_after=1)


def _postgres_down(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.warning("Postgres unavailable: %s", exc)
    return problem(
        503, "unavailable", "Postgres does not answer; try again shortly.", dependency="postgres", retry_after=1
    )


def _bad_value(_: Request[Any, Any, Any], exc: asyncpg.exceptions.DataError) -> Response[dict[str, Any]]:
    # A value Postgres cannot store or compare (NUL in text from a query string or path, an
    # instant out of its range, a string longer than its column): the caller's input, not us.
    logger.info("Postgres refused a value: %s", exc)
    if isinstance(exc, asyncpg.exceptions.StringDataRightTruncationError):
        return problem(422, "text_too_long", "A text field is longer than allowed.")
    if isinstance(
        exc, asyncpg.exceptions.CharacterNotInRepertoireError | asyncpg.exceptions.UntranslatableCharacterError
    ):
        return problem(422, "invalid_text", "Text may not contain NUL characters (\\u0000).")
    return problem(422, "invalid_value", "A value in the request cannot be stored or compared.")


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "The gateway could not handle this request.")


exception_handlers: ExceptionHandlersMap = {
    GatewayError: _gateway_error,
    HTTPException: _http_exception,
    RedisConnectionError: _redis_down,
    RedisTimeoutError: _redis_down,
    # a Redis Cluster between two states (GATEWAY_REDIS_CLUSTER=on): a primary failed and no
    # replica took over yet (CLUSTERDOWN; no slot known), or a slot is moving (TRYAGAIN; a
    # redirection still answered after the batcher's tries, MovedError included)
    **dict.fromkeys((ClusterDownError, SlotNotCoveredError, TryAgainError, AskError), _redis_down),
    **dict.fromkeys(POSTGRES_AWAY, _postgres_down),
    asyncpg.exceptions.DataError: _bad_value,
    Exception: _unexpected,
}
