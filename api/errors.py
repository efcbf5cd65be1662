"""Domain errors and their one mapping to RFC 9457 problem details.

Services raise these; :func:`problem_response` turns any of them into
``application/problem+json`` with a stable ``code`` the web app can switch on. Nothing
else in the code base builds error responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class EchoesError(Exception):
    """Base class: an error a person or a network peer caused and can act on."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "INVALID_INPUT"
    title: ClassVar[str] = "Invalid input"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(EchoesError):
    status_code = 422
    code = "INVALID_INPUT"
    title = "Invalid input"


class BadRequest(EchoesError):
    status_code = 400
    code = "INVALID_INPUT"
    title = "Bad request"


class UploadTooLarge(EchoesError):
    status_code = 413
    code = "UPLOAD_TOO_LARGE"
    title = "Upload too large"


class StorageQuotaExceeded(EchoesError):
    """An upload that would take the account past its storage quota; nothing is stored."""

    status_code = 413
    code = "STORAGE_QUOTA_EXCEEDED"
    title = "Storage full"


class UnsupportedMedia(EchoesError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA"
    title = "Unsupported media"


class InsufficientCredits(EchoesError):
    status_code = 402
    code = "INSUFFICIENT_CREDITS"
    title = "Not enough credits"


class NotAuthenticated(EchoesError):
    status_code = 401
    code = "NOT_AUTHENTICATED"
    title = "Not signed in"


class Forbidden(EchoesError):
    status_code = 403
    code = "FORBIDDEN"
    title = "Forbidden"


class CrossSiteRequest(EchoesError):
    """A browser request sent by another site's page (a form posting to us from elsewhere)."""

    status_code = 403
    code = "CROSS_SITE_REQUEST"
    title = "Request from another site"


class NotFound(EchoesError):
    status_code = 404
    code = "NOT_FOUND"
    title = "Not found"


class Conflict(EchoesError):
    status_code = 409
    code = "CONFLICT"
    title = "Conflict"


class RateLimited(EchoesError):
    """``retry_after`` (seconds) becomes the ``Retry-After`` header and a body field."""

    status_code = 429
    code = "RATE_LIMITED"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retryAfter=retry_after, **extra)
        self.retry_after = retry_after


class ServiceUnavailable(EchoesError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    title = "Service unavailable"


class ContentRefused(EchoesError):
    """The photo (or other media) goes against the content rules; nothing was kept."""

    status_code = 422
    code = "CONTENT_REFUSED"
    title = "Content refused"


class GenerationFailed(EchoesError):
    status_code = 502
    code = "GENERATION_FAILED"
    title = "Generation failed"


_CODES_BY_STATUS = {
    400: ("INVALID_INPUT", "Bad request"),
    401: ("NOT_AUTHENTICATED", "Not signed in"),
    403: ("FORBIDDEN", "Forbidden"),
    404: ("NOT_FOUND", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    409: ("CONFLICT", "Conflict"),
    413: ("UPLOAD_TOO_LARGE", "Upload too large"),
    415: ("UNSUPPORTED_MEDIA", "Unsupported media"),
    422: ("INVALID_INPUT", "Invalid input"),
    429: ("RATE_LIMITED", "Too many requests"),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable"),
}

_DEFAULT_DETAILS = {
    404: "There is nothing here. Check the address, or go back to the start.",
    405: "This address does not accept that kind of request.",
    413: "That upload is too large.",
    500: "Something went wrong on our side. Please try again in a moment.",
}


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://echoes.app/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_for_status(status: int, detail: str | None, **extra: Any) -> dict[str, Any]:
    """Problem details for a framework-level HTTP error (routing, parsing, body size)."""
    code, title = _CODES_BY_STATUS.get(status, ("INTERNAL_ERROR", "Internal error"))
    if status >= 500 or status in _DEFAULT_DETAILS or not detail or detail.lower() == title.lower():
        detail = _DEFAULT_DETAILS.get(status, detail or title)
    return problem_body(status=status, code=code, title=title, detail=detail, **extra)
