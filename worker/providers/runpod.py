"""Runpod serverless (queue endpoints) running our own handler, :mod:`worker.runpod_handler`.

Spoken over httpx against the platform's REST API (``/run``, ``GET /status/{id}``,
``/cancel/{id}``), not through the ``runpod`` SDK's client: that client is synchronous
(``requests``) and retries 429s on its own for half a minute, and retries and polling
belong to the provider chain.

The job input is the handler's contract: ``image_base64`` (or ``image_url`` when the photo
is too big to inline in Runpod's 10 MB request limit), ``aspect``, ``duration``, ``seed``
and ``prompt``. Each job carries a ``policy``: ``executionTimeout`` is the chain's own
time limit, so a job we have given up on is stopped by Runpod too, and ``ttl`` a little
more, so a job still queued when we give up expires. The handler's output is the video
as base64 (or a URL when the GPU host uploads to a bucket); :meth:`RunpodProvider.download`
writes either to disk. Runpod reports no price, so ``cost`` is ``None``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from pathlib import Path
from typing import Any

import httpx

from api.net import OutboundPolicy
from worker.providers.base import (
    JobRef,
    JobState,
    JobStatus,
    MotionRequest,
    ProviderFailed,
)
from worker.providers.http import (
    CODE_BAD_REQUEST,
    CODE_CONFIGURATION,
    CODE_NOT_FOUND,
    MAX_DOWNLOAD_BYTES,
    download_to_file,
    error_for_response,
    response_json,
    transport_error,
    write_bytes_atomically,
)

NAME = "runpod"
DEFAULT_BASE_URL = "https://api.runpod.ai/v2"
# Runpod refuses /run bodies over 10 MB; keep a margin for the rest of the JSON.
INLINE_IMAGE_LIMIT = 9 * 1024 * 1024
MIN_EXECUTION_TIMEOUT_MS = 5001
MIN_TTL_MS = 10_000
# A job that is still queued when the chain gives up should not start afterwards.
TTL_MARGIN_MS = 60_000

STATES: dict[str, JobState] = {
    "IN_QUEUE": JobState.QUEUED,
    "IN_PROGRESS": JobState.RUNNING,
    "RUNNING": JobState.RUNNING,
    "COMPLETED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "TIMED_OUT": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


def job_policy(timeout_seconds: float) -> dict[str, int]:
    """``policy`` for a job the chain waits ``timeout_seconds`` for."""
    execution = max(MIN_EXECUTION_TIMEOUT_MS, math.ceil(timeout_seconds * 1000))
    return {"executionTimeout": execution, "ttl": max(MIN_TTL_MS, execution + TTL_MARGIN_MS)}


def job_input(request: MotionRequest) -> dict[str, Any]:
    """The handler's ``input`` for ``request`` (reads the photo: call off the event loop)."""
    path = Path(request.photo_path)
    size = path.stat().st_size
    payload: dict[str, Any] = {
        "aspect": request.aspect,
        "duration": request.duration,
        "seed": request.seed,
    }
    if request.prompt and request.prompt.strip():
        payload["prompt"] = request.prompt.strip()
    if 4 * math.ceil(size / 3) < INLINE_IMAGE_LIMIT:
        payload["image_base64"] = base64.b64encode(path.read_bytes()).decode("ascii")
    elif request.photo_url and request.photo_url.startswith(("https://", "http://")):
        payload["image_url"] = request.photo_url
    else:
        raise ProviderFailed(
            f"Runpod cannot take this photo: {size} bytes is too large to send inline and no "
            "photo URL was given",
            provider=NAME,
            code=CODE_BAD_REQUEST,
        )
    return payload


def _error_message(raw: object) -> str:
    """Runpod's ``error``: a handler's own message, or the JSON it makes of an exception."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    try:
        details = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(details, dict) and "error_message" in details:
        return f"{details.get('error_type', 'error')}: {details['error_message']}"[:500]
    return text[:500]


def parse_job(payload: dict[str, Any]) -> JobStatus:
    """A ``/status`` body as a :class:`JobStatus` (FAILED and TIMED_OUT are FAILED)."""
    raw_status = payload.get("status")
    state = STATES.get(str(raw_status))
    if state is None:
        raise ProviderFailed(
            f"Runpod job has an unknown status {raw_status!r}", provider=NAME, code="bad_response"
        )
    extra: dict[str, object] = {"runpod_status": raw_status}
    for key, name in (("delayTime", "delay_ms"), ("executionTime", "execution_ms")):
        if isinstance(payload.get(key), int | float):
            extra[name] = payload[key]
    if state is JobState.FAILED:
        if raw_status == "TIMED_OUT":
            failure = "the job ran longer than its executionTimeout"
        else:
            failure = _error_message(payload.get("error") or "the handler failed without a message")
        return JobStatus(state, failure=failure, failure_code=str(raw_status), extra=extra)
    if state is not JobState.SUCCEEDED:
        return JobStatus(state, extra=extra)

    output = payload.get("output")
    if not isinstance(output, dict):
        raise ProviderFailed(
            f"Runpod job completed without a video (output: {str(output)[:100]!r})",
            provider=NAME,
            code="no_output",
        )
    if isinstance(output.get("model"), str):
        extra["model"] = output["model"]
    if isinstance(output.get("video_url"), str):
        return JobStatus(state, progress=1.0, output_urls=(output["video_url"],), extra=extra)
    if isinstance(output.get("video_base64"), str):
        extra["video_base64"] = output["video_base64"]
        return JobStatus(state, progress=1.0, extra=extra)
    raise ProviderFailed(
        f"Runpod job completed without video_base64 or video_url (keys: {sorted(output)})",
        provider=NAME,
        code="no_output",
    )


class RunpodProvider:
    """:class:`~worker.providers.base.MotionProvider` for a Runpod serverless endpoint."""

    name = NAME
    durable = True

    def __init__(
        self,
        *,
        api_key: str,
        endpoint_id: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = 600.0,
        client: httpx.AsyncClient | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        if not api_key or not endpoint_id:
            raise ValueError("RunpodProvider needs RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID")
        self._api_key = api_key
        self._endpoint_url = f"{base_url.rstrip('/')}/{endpoint_id}"
        self._policy = job_policy(timeout_seconds)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        self._max_download_bytes = max_download_bytes
        self._outbound = outbound or OutboundPolicy()

    def __repr__(self) -> str:
        return f"RunpodProvider(endpoint_url={self._endpoint_url!r})"

    async def _call(
        self, method: str, path: str, *, action: str, json: dict[str, Any] | None = None
    ) -> dict[str, object]:
        headers = {"authorization": f"Bearer {self._api_key}", "accept": "application/json"}
        try:
            response = await self._client.request(
                method, f"{self._endpoint_url}{path}", headers=headers, json=json
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, provider=NAME, action=action) from exc
        if not response.is_success:
            error = error_for_response(
                response, provider=NAME, action=action, key_setting="RUNPOD_API_KEY"
            )
            if path == "/run" and error.code == CODE_NOT_FOUND:
                raise ProviderFailed(
                    f"{error} — the endpoint does not exist: check RUNPOD_ENDPOINT_ID",
                    provider=NAME,
                    code=CODE_CONFIGURATION,
                )
            raise error
        return response_json(response, provider=NAME, action=action)

    async def submit(self, request: MotionRequest) -> JobRef:
        payload = await asyncio.to_thread(job_input, request)
        body = await self._call(
            "POST", "/run", action="job submission", json={"input": payload, "policy": self._policy}
        )
        job_id = body.get("id")
        if not isinstance(job_id, str) or not job_id:
            raise ProviderFailed(
                "Runpod accepted the job but sent no job id", provider=NAME, code="bad_response"
            )
        return JobRef(provider=NAME, job_id=job_id)

    async def status(self, ref: JobRef) -> JobStatus:
        status = parse_job(await self._call("GET", f"/status/{ref.job_id}", action="job status"))
        if status.state is JobState.FAILED:
            raise ProviderFailed(
                f"Runpod job {status.failure_code}: {status.failure}",
                provider=NAME,
                code=status.failure_code,
            )
        return status

    async def cancel(self, ref: JobRef) -> None:
        """Cancel a queued or running job. A job Runpod no longer knows is fine."""
        try:
            await self._call("POST", f"/cancel/{ref.job_id}", action="job cancellation")
        except ProviderFailed as exc:
            if exc.code != CODE_NOT_FOUND:
                raise

    async def download(self, ref: JobRef, status: JobStatus, dest: Path) -> None:
        encoded = status.extra.get("video_base64")
        if isinstance(encoded, str):
            if len(encoded) * 3 // 4 > self._max_download_bytes:
                raise ProviderFailed(
                    f"Runpod job {ref.job_id} returned a video over the download limit",
                    provider=NAME,
                    code="output_too_large",
                )
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ProviderFailed(
                    f"Runpod job {ref.job_id} returned video_base64 that is not base64 ({exc})",
                    provider=NAME,
                    code="bad_output",
                ) from exc
            if not data:
                raise ProviderFailed(
                    f"Runpod job {ref.job_id} returned an empty video",
                    provider=NAME,
                    code="empty_output",
                )
            await asyncio.to_thread(write_bytes_atomically, data, Path(dest))
            return
        if status.output_urls:
            await download_to_file(
                self._client,
                status.output_urls[0],
                Path(dest),
                provider=NAME,
                max_bytes=self._max_download_bytes,
            outbound=self._outbound,
            )
            return
        raise ProviderFailed(
            f"Runpod job {ref.job_id} has no video to download", provider=NAME, code="no_output"
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
