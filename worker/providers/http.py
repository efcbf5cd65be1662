"""What the remote providers share over HTTP: error mapping, ``Retry-After``, safe downloads.

Runway and Runpod disagree on many things but not on these: a 429 or a 5xx (and any
timeout or connection error) is worth retrying, a 401 means our configuration is wrong, and
a finished video has to be fetched at once from a URL that expires.
"""

from __future__ import annotations

import email.utils
import os
import secrets
import time
from pathlib import Path

import httpx

from api.net import OutboundPolicy, UnsafeURL, guarded_get
from worker.providers.base import ProviderError, ProviderFailed, TransientProviderError

MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_ERROR_TEXT_LIMIT = 300

# ``code`` values the chain acts on (see worker.providers.chain).
CODE_CONFIGURATION = "configuration"
CODE_NOT_FOUND = "not_found"
CODE_BAD_REQUEST = "bad_request"
CODE_OUTPUT_GONE = "output_gone"
CODE_UNSAFE_URL = "unsafe_output_url"


def parse_retry_after(
    headers: httpx.Headers | dict[str, str], *, now: float | None = None
) -> float | None:
    """Seconds to wait as the server asked: ``retry-after-ms`` first (Runway sends it),
    then ``Retry-After`` as seconds or as an HTTP date. ``None`` when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_text(response: httpx.Response) -> str:
    """The server's own explanation: ``{"error": ...}`` when present, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        text = str(body["error"])
    else:
        text = response.text.strip() or response.reason_phrase
    return text[:_ERROR_TEXT_LIMIT]


def error_for_response(
    response: httpx.Response, *, provider: str, action: str, key_setting: str
) -> ProviderError:
    """The error a non-2xx answer stands for.

    429, 408/409/425 and every 5xx are transient (with the server's ``Retry-After``). 401
    and 403 are configuration errors naming ``key_setting``; 404 is ``not_found``; any
    other 4xx is a request the provider will never accept.
    """
    status = response.status_code
    detail = error_text(response)
    label = provider.capitalize()
    if status in _RETRYABLE_STATUS or status >= 500:
        return TransientProviderError(
            f"{label} {action}: HTTP {status} ({detail})",
            provider=provider,
            code=f"http_{status}",
            retry_after=parse_retry_after(response.headers),
        )
    if status in (401, 403):
        return ProviderFailed(
            f"{label} {action}: HTTP {status}, the API key was refused ({detail}). "
            f"This is a configuration error: check {key_setting}.",
            provider=provider,
            code=CODE_CONFIGURATION,
        )
    if status == 404:
        return ProviderFailed(
            f"{label} {action}: HTTP 404 ({detail})", provider=provider, code=CODE_NOT_FOUND
        )
    return ProviderFailed(
        f"{label} {action}: HTTP {status} ({detail})", provider=provider, code=CODE_BAD_REQUEST
    )


def transport_error(
    exc: httpx.TransportError, *, provider: str, action: str
) -> TransientProviderError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
    return TransientProviderError(
        f"{provider.capitalize()} {action}: {kind} ({type(exc).__name__}: {exc})",
        provider=provider,
        code="timeout" if isinstance(exc, httpx.TimeoutException) else "connection",
    )


def response_json(response: httpx.Response, *, provider: str, action: str) -> dict[str, object]:
    """A 2xx answer's JSON object; anything else is a garbled answer worth retrying."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransientProviderError(
            f"{provider.capitalize()} {action}: the answer was not a JSON object "
            f"({response.text[:100]!r})",
            provider=provider,
            code="bad_response",
        )
    return body


def temporary_sibling(dest: Path) -> Path:
    """A hidden name beside ``dest`` (same directory, so renaming onto it is atomic)."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")


async def download_to_file(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    provider: str,
    outbound: OutboundPolicy,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> int:
    """Stream ``url`` into ``dest`` and return the number of bytes written.

    No credentials are sent: output URLs are pre-signed and may live on another host. The
    URL comes from the provider's answer, so it goes through :mod:`api.net` (https, public
    addresses only, pinned, redirects re-checked); a URL that fails the guard is a final
    ``unsafe_output_url`` failure. A 403/404/410 means the URL has expired
    (``output_gone``); a body over ``max_bytes`` or an empty one is refused. ``dest``
    appears only when the whole body has arrived.
    """
    dest = Path(dest)
    tmp = temporary_sibling(dest)
    written = 0
    try:
        async with guarded_get(client, url, outbound) as response:
            if response.status_code in (403, 404, 410):
                raise ProviderFailed(
                    f"{provider.capitalize()} output URL is no longer available "
                    f"(HTTP {response.status_code}); output URLs expire, so videos must be "
                    "downloaded as soon as they are ready",
                    provider=provider,
                    code=CODE_OUTPUT_GONE,
                )
            if not response.is_success:
                await response.aread()
                raise error_for_response(
                    response, provider=provider, action="output download", key_setting="(none)"
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(provider, int(declared), max_bytes)
            with tmp.open("wb") as fh:
                async for chunk in response.aiter_bytes(1024 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _too_large(provider, written, max_bytes)
                    fh.write(chunk)
        if written == 0:
            raise ProviderFailed(
                f"{provider.capitalize()} output download: the video file is empty",
                provider=provider,
                code="empty_output",
            )
        os.replace(tmp, dest)
    except UnsafeURL as exc:
        raise ProviderFailed(
            f"{provider.capitalize()} output URL refused: {exc}", provider=provider, code=CODE_UNSAFE_URL
        ) from None
    except httpx.TransportError as exc:
        raise transport_error(exc, provider=provider, action="output download") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return written


def write_bytes_atomically(data: bytes, dest: Path) -> None:
    tmp = temporary_sibling(Path(dest))
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _too_large(provider: str, size: int, limit: int) -> ProviderFailed:
    return ProviderFailed(
        f"{provider.capitalize()} output is larger than the {limit // (1024 * 1024)} MB limit "
        f"({size} bytes or more)",
        provider=provider,
        code="output_too_large",
    )
