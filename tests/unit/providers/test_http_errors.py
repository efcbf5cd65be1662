"""How HTTP answers become provider errors, and how Retry-After is read."""

from __future__ import annotations

import httpx
import pytest

from worker.providers.base import ProviderFailed, TransientProviderError
from worker.providers.http import error_for_response, parse_retry_after


def answer(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        json=body if body is not None else {"error": "something"},
        headers=headers,
        request=httpx.Request("POST", "https://api.example/v1/x"),
    )


def error(response: httpx.Response) -> Exception:
    return error_for_response(
        response, provider="runway", action="task creation", key_setting="RUNWAY_API_KEY"
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "30"}, 30.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_comes_from_either_header(
    headers: dict[str, str], seconds: float | None
) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(httpx.Headers(headers), now=now) == seconds


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_overload_and_server_errors_are_transient(status: int) -> None:
    result = error(answer(status, headers={"Retry-After": "3"}))
    assert isinstance(result, TransientProviderError)
    assert (result.code, result.retry_after) == (f"http_{status}", 3.0)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_a_configuration_error_naming_the_setting(status: int) -> None:
    result = error(answer(status, {"error": "Invalid API key."}))
    assert isinstance(result, ProviderFailed) and result.code == "configuration"
    assert "RUNWAY_API_KEY" in str(result) and "Invalid API key." in str(result)


def test_not_found_and_bad_requests_are_failures_with_the_servers_reason() -> None:
    missing = error(answer(404, {"error": "Task not found."}))
    bad = error(answer(400, {"error": "ratio: Invalid enum value"}))
    assert isinstance(missing, ProviderFailed) and missing.code == "not_found"
    assert isinstance(bad, ProviderFailed) and bad.code == "bad_request"
    assert "ratio: Invalid enum value" in str(bad)


def test_a_non_json_error_body_is_quoted_briefly() -> None:
    response = httpx.Response(
        502, text="<html>" + "x" * 1000, request=httpx.Request("GET", "https://api.example/")
    )
    result = error(response)
    assert isinstance(result, TransientProviderError)
    assert len(str(result)) < 400
