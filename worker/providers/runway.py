"""Runway's image-to-video API (the v1 REST contract, ``X-Runway-Version: 2024-11-06``).

We speak HTTP with httpx instead of using the ``runwayml`` SDK: the SDK retries on its own
(twice by default) and polls on its own schedule, and both belong to the provider chain,
which shares them across providers and with the circuit breaker.

The photo goes inline as a ``data:`` URI when the encoded URI is under Runway's 5 MB
limit, otherwise as ``MotionRequest.photo_url`` (which must be HTTPS: Runway fetches it
itself). Task ``cost.credits`` is reported in US dollars (1 credit = $0.01).

A FAILED task raises from :meth:`RunwayProvider.status`: :class:`ContentRefused` for the
content-safety codes (``SAFETY.*``, ``INPUT_PREPROCESSING.SAFETY.*``), which are final,
and :class:`ProviderFailed` for everything else.
"""

from __future__ import annotations

import asyncio
import base64
import math
from pathlib import Path
from typing import Any

import httpx

from api.net import OutboundPolicy
from worker.providers.base import (
    ContentRefused,
    JobRef,
    JobState,
    JobStatus,
    MotionRequest,
    ProviderError,
    ProviderFailed,
)
from worker.providers.http import (
    CODE_BAD_REQUEST,
    CODE_NOT_FOUND,
    MAX_DOWNLOAD_BYTES,
    download_to_file,
    error_for_response,
    response_json,
    transport_error,
)

NAME = "runway"
DEFAULT_BASE_URL = "https://api.dev.runwayml.com"
RUNWAY_VERSION = "2024-11-06"
RATIOS: dict[str, str] = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960"}
DATA_URI_LIMIT = 5 * 1024 * 1024
USD_PER_CREDIT = 0.01
# Runway says not to expect updates more often than every 5 s; a throttled task waits for
# a free slot, which takes longer still.
THROTTLED_POLL_SECONDS = 10.0
REFUSAL_MESSAGE = (
    "This photo or prompt was refused by the video model's content rules. "
    "Try another photo or change the prompt."
)
_SAFETY_PREFIXES = ("SAFETY.", "INPUT_PREPROCESSING.SAFETY.")
_MIME_BY_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
)


def runway_ratio(aspect: str) -> str:
    """Runway's ``ratio`` for a project aspect: the output size as ``W:H``."""
    try:
        return RATIOS[aspect]
    except KeyError:
        raise ProviderFailed(
            f"Runway has no ratio for aspect {aspect!r} (expected one of {sorted(RATIOS)})",
            provider=NAME,
            code=CODE_BAD_REQUEST,
        ) from None


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type of a JPEG, PNG or WebP from its first 12 bytes (the types Runway takes)."""
    for magic, offset, mime in _MIME_BY_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and head[:4] != b"RIFF":
                continue
            return mime
    return None


def data_uri_size(byte_count: int, mime: str) -> int:
    """Length of ``data:<mime>;base64,<payload>`` for ``byte_count`` bytes of payload."""
    return len(f"data:{mime};base64,") + 4 * math.ceil(byte_count / 3)


def prompt_image(request: MotionRequest) -> str:
    """The ``promptImage`` for ``request``: an inline data URI, or the photo's HTTPS URL.

    Reads the photo from disk, so call it off the event loop.
    """
    path = Path(request.photo_path)
    with path.open("rb") as fh:
        head = fh.read(12)
    mime = sniff_image_type(head)
    if mime is None:
        raise ProviderFailed(
            f"Runway accepts JPEG, PNG or WebP photos; {path.name} is none of these",
            provider=NAME,
            code=CODE_BAD_REQUEST,
        )
    size = path.stat().st_size
    if data_uri_size(size, mime) < DATA_URI_LIMIT:
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    if request.photo_url and request.photo_url.startswith("https://"):
        return request.photo_url
    reason = (
        f"its URL {request.photo_url.split('?')[0]!r} is not HTTPS"
        if request.photo_url
        else "no public HTTPS URL of the photo was given"
    )
    raise ProviderFailed(
        f"Runway cannot take this photo: {size} bytes is over the 5 MB inline (data URI) limit "
        f"once base64-encoded, and {reason}",
        provider=NAME,
        code=CODE_BAD_REQUEST,
    )


def task_body(request: MotionRequest, model: str) -> dict[str, Any]:
    """The JSON body of ``POST /v1/image_to_video`` (reads the photo: call off the loop)."""
    body: dict[str, Any] = {
        "model": model,
        "promptImage": prompt_image(request),
        "ratio": runway_ratio(request.aspect),
        "duration": request.duration,
        "seed": request.seed,
    }
    if request.prompt and request.prompt.strip():
        body["promptText"] = request.prompt.strip()
    return body


def is_safety_failure(code: str | None) -> bool:
    return code is not None and code.startswith(_SAFETY_PREFIXES)


def _credits(value: object) -> float | None:
    if isinstance(value, dict) and isinstance(value.get("credits"), int | float):
        return float(value["credits"])
    return None


def parse_task(payload: dict[str, Any]) -> JobStatus:
    """A ``GET /v1/tasks/{id}`` body as a :class:`JobStatus` (FAILED included; see
    :func:`failure_error`). ``cost`` is in US dollars."""
    status = payload.get("status")
    credits = _credits(payload.get("cost"))
    estimated = _credits(payload.get("estimatedCost"))
    extra: dict[str, object] = {"runway_status": status}
    if estimated is not None:
        extra["estimated_credits"] = estimated
    if credits is not None:
        extra["credits"] = credits
    cost = round(credits * USD_PER_CREDIT, 4) if credits is not None else None
    match status:
        case "PENDING":
            return JobStatus(JobState.QUEUED, extra=extra)
        case "THROTTLED":
            return JobStatus(JobState.QUEUED, poll_after=THROTTLED_POLL_SECONDS, extra=extra)
        case "RUNNING":
            progress = payload.get("progress")
            return JobStatus(
                JobState.RUNNING,
                progress=float(progress) if isinstance(progress, int | float) else None,
                extra=extra,
            )
        case "SUCCEEDED":
            output = payload.get("output") or []
            return JobStatus(
                JobState.SUCCEEDED,
                progress=1.0,
                output_urls=tuple(str(url) for url in output),
                cost=cost,
                extra=extra,
            )
        case "FAILED":
            return JobStatus(
                JobState.FAILED,
                failure=str(payload.get("failure") or "the task failed"),
                failure_code=str(payload["failureCode"]) if payload.get("failureCode") else None,
                cost=cost,
                extra=extra,
            )
        case "CANCELLED":
            return JobStatus(JobState.CANCELLED, cost=cost, extra=extra)
    raise ProviderFailed(
        f"Runway task has an unknown status {status!r}", provider=NAME, code="bad_response"
    )


def failure_error(status: JobStatus) -> ProviderError:
    """The error a FAILED task stands for: a safety refusal is final, anything else fails over."""
    code = status.failure_code
    if is_safety_failure(code):
        return ContentRefused(
            f"Runway refused the task on content grounds ({code}): {status.failure}",
            provider=NAME,
            code=code,
            user_message=REFUSAL_MESSAGE,
        )
    return ProviderFailed(
        f"Runway task failed ({code or 'no failure code'}): {status.failure}",
        provider=NAME,
        code=code,
    )


class RunwayProvider:
    """:class:`~worker.providers.base.MotionProvider` for Runway's hosted models."""

    name = NAME
    durable = True

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = "gen4_turbo",
        client: httpx.AsyncClient | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("RunwayProvider needs an API key (RUNWAY_API_KEY)")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self.model = model
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        self._max_download_bytes = max_download_bytes
        self._outbound = outbound or OutboundPolicy()

    def __repr__(self) -> str:
        return f"RunwayProvider(base_url={self._base_url!r}, model={self.model!r})"

    async def _call(
        self, method: str, path: str, *, action: str, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "X-Runway-Version": RUNWAY_VERSION,
            "Accept": "application/json" if method != "DELETE" else "*/*",
        }
        try:
            response = await self._client.request(
                method, f"{self._base_url}{path}", headers=headers, json=json
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, provider=NAME, action=action) from exc
        if not response.is_success:
            raise error_for_response(
                response, provider=NAME, action=action, key_setting="RUNWAY_API_KEY"
            )
        return response

    async def submit(self, request: MotionRequest) -> JobRef:
        body = await asyncio.to_thread(task_body, request, self.model)
        response = await self._call("POST", "/v1/image_to_video", action="task creation", json=body)
        task_id = response_json(response, provider=NAME, action="task creation").get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderFailed(
                "Runway accepted the task but sent no task id", provider=NAME, code="bad_response"
            )
        return JobRef(provider=NAME, job_id=task_id)

    async def status(self, ref: JobRef) -> JobStatus:
        response = await self._call("GET", f"/v1/tasks/{ref.job_id}", action="task status")
        status = parse_task(response_json(response, provider=NAME, action="task status"))
        if status.state is JobState.FAILED:
            raise failure_error(status)
        return status

    async def cancel(self, ref: JobRef) -> None:
        """Cancel a running task (or delete a finished one). A task already gone is fine."""
        try:
            await self._call("DELETE", f"/v1/tasks/{ref.job_id}", action="task cancellation")
        except ProviderFailed as exc:
            if exc.code != CODE_NOT_FOUND:
                raise

    async def download(self, ref: JobRef, status: JobStatus, dest: Path) -> None:
        if not status.output_urls:
            raise ProviderFailed(
                f"Runway task {ref.job_id} succeeded without an output URL",
                provider=NAME,
                code="no_output",
            )
        await download_to_file(
            self._client,
            status.output_urls[0],
            Path(dest),
            provider=NAME,
            max_bytes=self._max_download_bytes,
            outbound=self._outbound,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
