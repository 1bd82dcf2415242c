"""Every 503 says when to try again (found by the fault suite: a confirm that lost Postgres
mid-transaction answered 503 without ``Retry-After``), except a secret that will never decrypt."""

from __future__ import annotations

from typing import Any, cast

from gateway.errors import GatewayError, SecretUnreadable, ServiceUnavailable, exception_handlers


def answer(exc: GatewayError) -> Any:
    handler = cast("Any", exception_handlers[GatewayError])
    return handler(None, exc)


def test_a_dependency_away_answers_retry_after_and_names_it() -> None:
    response = answer(ServiceUnavailable("The appointment could not be saved; try again.", dependency="postgres"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.content["code"] == "unavailable" and response.content["dependency"] == "postgres"


def test_a_caller_may_ask_for_a_longer_wait() -> None:
    assert answer(ServiceUnavailable("busy", retry_after=5)).headers["Retry-After"] == "5"


def test_a_secret_that_no_longer_decrypts_promises_no_retry() -> None:
    response = answer(SecretUnreadable("The booking secret cannot be decrypted."))
    assert response.status_code == 503 and response.content["code"] == "secret_unreadable"
    assert "Retry-After" not in response.headers
