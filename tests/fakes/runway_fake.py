"""A stateful fake of Runway's developer API (v1, ``X-Runway-Version: 2024-11-06``).

It follows ``shared/contracts/EXTERNAL_APIS.md`` §1:

- ``Authorization: Bearer key_<128 hex>`` must be the fake's key (401 otherwise) and
  ``X-Runway-Version`` must be ``2024-11-06`` (400 otherwise); errors are
  ``{"error": "..."}``;
- ``POST /v1/image_to_video`` validates ``model`` (``gen4_turbo``, ``gen4.5``), ``ratio``,
  ``duration`` (2 to 10), ``promptText`` (non-empty, at most 1000 UTF-16 code units; required
  for ``gen4.5``), ``seed`` and ``promptImage`` (``https://`` with a domain name, or
  ``data:image/(png|jpeg|webp);base64,`` of at most 5 MB encoded); a 400 names the field;
- each task lives through PENDING (``pending_seconds``) -> THROTTLED while ``concurrency``
  tasks are already running -> RUNNING with rising ``progress`` (``run_seconds``) ->
  SUCCEEDED with ``output`` pointing at an MP4 this fake serves, or FAILED with
  ``failure``/``failureCode``; ``estimatedCost``/``cost`` are ``duration`` x the model's
  credits per second;
- output URLs are signed (``?_jwt=``) each time the task is read and expire ``output_ttl``
  seconds after they were issued (then 404), as Runway's do: reading the task again is
  how a client gets a fresh URL for a finished task;
- ``DELETE /v1/tasks/{id}`` (204) cancels an active task, which then reads CANCELLED, and
  deletes a finished one, which then reads 404.

Knobs, all plain attributes that tests may change at any time: ``failure_code`` (new tasks
end FAILED with it, e.g. ``SAFETY.INPUT.TEXT`` or ``INTERNAL.BAD_OUTPUT.CODE01``), ``hang``
(new tasks never finish), ``daily_limit`` (task creation beyond it answers 429 with
``Retry-After: daily_retry_after``), ``down`` (every API call answers 503), the delays,
``concurrency`` and ``output_ttl``; :meth:`~FakeHTTPServer.fail_next` scripts single errors.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.fakes._threaded_http import FakeHTTPServer, FakeRequest, Reply

RUNWAY_VERSION = "2024-11-06"
CREDITS_PER_SECOND = {"gen4_turbo": 5, "gen4.5": 12}
RATIOS = frozenset({"1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"})
DATA_URI_LIMIT = 5 * 1024 * 1024
_DATA_URI = re.compile(r"^data:image/(png|jpeg|webp);base64,")
_FIELDS = frozenset(
    {"model", "promptImage", "promptText", "ratio", "duration", "seed", "contentModeration"}
)
_ACTIVE = frozenset({"PENDING", "THROTTLED", "RUNNING"})
_TASK_PATH = re.compile(r"^/v1/tasks/([^/]+)$")
_OUTPUT_PATH = re.compile(r"^/_outputs/([^/]+)\.mp4$")
FAILURE_TEXT = {
    "SAFETY": "The input or output was flagged by content moderation.",
    "INTERNAL": "An unexpected error occurred while generating the video.",
}


@dataclass
class FakeTask:
    id: str
    model: str
    duration: int
    body: dict[str, Any]
    created: float
    created_at: str
    failure_code: str | None
    hang: bool
    status: str = "PENDING"
    started: float | None = None
    finished: float | None = None
    deleted: bool = False
    #: Every output URL token issued for this task, with when it was issued (monotonic).
    output_tokens: dict[str, float] = field(default_factory=dict)


class RunwayFake(FakeHTTPServer):
    def __init__(
        self,
        output_video: Path,
        *,
        api_key: str | None = None,
        pending_seconds: float = 0.01,
        run_seconds: float = 0.05,
        concurrency: int = 2,
        output_ttl: float = 60.0,
    ) -> None:
        super().__init__()
        self.output_video = Path(output_video)
        self.api_key = api_key or "key_" + secrets.token_hex(64)
        self.pending_seconds = pending_seconds
        self.run_seconds = run_seconds
        self.concurrency = concurrency
        self.output_ttl = output_ttl
        self.failure_code: str | None = None
        self.hang = False
        self.down = False
        self.daily_limit: int | None = None
        self.daily_retry_after = 3600
        self.tasks: dict[str, FakeTask] = {}

    def task(self, task_id: str) -> FakeTask:
        with self.lock:
            return self.tasks[task_id]

    def route(self, request: FakeRequest) -> Reply:
        output = _OUTPUT_PATH.match(request.path)
        if output is not None:
            return self._serve_output(output.group(1), request)
        if self.down:
            return Reply.error(503, "Service temporarily unavailable, please retry.")
        auth = request.header("authorization")
        if not auth:
            return Reply.error(
                401, "Missing Authorization header. Use 'Authorization: Bearer <key>'."
            )
        if auth != f"Bearer {self.api_key}":
            return Reply.error(401, "Invalid API key.")
        version = request.header("x-runway-version")
        if version != RUNWAY_VERSION:
            return Reply.error(
                400, f"X-Runway-Version must be set to {RUNWAY_VERSION!r} (got {version!r})."
            )
        if request.path == "/v1/image_to_video":
            if request.method != "POST":
                return Reply.error(405, "Method not allowed.")
            return self._create(request)
        task = _TASK_PATH.match(request.path)
        if task is not None:
            if request.method == "GET":
                return self._get(task.group(1))
            if request.method == "DELETE":
                return self._delete(task.group(1))
            return Reply.error(405, "Method not allowed.")
        return Reply.error(404, "Not found.")

    def _create(self, request: FakeRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return Reply.error(400, "Request body must be JSON.")
        problem = validate_image_to_video(body)
        if problem:
            return Reply.error(400, problem)
        with self.lock:
            if self.daily_limit is not None and len(self.tasks) >= self.daily_limit:
                return Reply.error(
                    429,
                    "You have exceeded your daily generation limit. Try again later.",
                    {"Retry-After": str(self.daily_retry_after)},
                )
            task = FakeTask(
                id=str(uuid.uuid4()),
                model=body["model"],
                duration=body.get("duration", 10),
                body=body,
                created=time.monotonic(),
                created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                failure_code=self.failure_code,
                hang=self.hang,
            )
            self.tasks[task.id] = task
        return Reply.json(200, {"id": task.id})

    def _get(self, task_id: str) -> Reply:
        with self.lock:
            self._advance(time.monotonic())
            task = self.tasks.get(task_id)
            if task is None or task.deleted:
                return Reply.error(404, "Task not found.")
            return Reply.json(200, self._render(task))

    def _delete(self, task_id: str) -> Reply:
        with self.lock:
            now = time.monotonic()
            self._advance(now)
            task = self.tasks.get(task_id)
            if task is None or task.deleted:
                return Reply.error(404, "Task not found.")
            if task.status in _ACTIVE:
                task.status = "CANCELLED"
                task.finished = now
            else:
                task.deleted = True
        return Reply(204)

    def _advance(self, now: float) -> None:
        """Move every task along its script to ``now`` (creation order: first come, first run)."""
        for task in self.tasks.values():
            if task.status == "RUNNING" and not task.hang:
                assert task.started is not None
                if now >= task.started + self.run_seconds:
                    task.finished = now
                    task.status = "FAILED" if task.failure_code else "SUCCEEDED"
        running = sum(1 for t in self.tasks.values() if t.status == "RUNNING")
        for task in self.tasks.values():
            if (
                task.status in ("PENDING", "THROTTLED")
                and now >= task.created + self.pending_seconds
            ):
                if running < self.concurrency:
                    task.status, task.started = "RUNNING", now
                    running += 1
                else:
                    task.status = "THROTTLED"

    def _render(self, task: FakeTask) -> dict[str, Any]:
        credits = task.duration * CREDITS_PER_SECOND[task.model]
        payload: dict[str, Any] = {
            "id": task.id,
            "createdAt": task.created_at,
            "status": task.status,
        }
        if task.status in _ACTIVE:
            payload["estimatedCost"] = {"credits": credits}
        if task.status == "RUNNING":
            assert task.started is not None
            elapsed = time.monotonic() - task.started
            fraction = elapsed / self.run_seconds if self.run_seconds else 1.0
            payload["progress"] = round(min(0.5 if task.hang else 0.99, fraction), 3)
        elif task.status == "SUCCEEDED":
            assert task.finished is not None
            token = secrets.token_urlsafe(16)
            task.output_tokens[token] = time.monotonic()
            payload["output"] = [f"{self.url}/_outputs/{task.id}.mp4?_jwt={token}"]
            payload["cost"] = {"credits": credits}
        elif task.status == "FAILED":
            family = "SAFETY" if "SAFETY" in str(task.failure_code) else "INTERNAL"
            payload.update(
                failure=FAILURE_TEXT[family], failureCode=task.failure_code, cost={"credits": 0}
            )
        elif task.status == "CANCELLED":
            payload["cost"] = {"credits": 0}
        return payload

    def _serve_output(self, task_id: str, request: FakeRequest) -> Reply:
        with self.lock:
            task = self.tasks.get(task_id)
            issued = task.output_tokens.get(request.query.get("_jwt", "")) if task else None
            valid = (
                task is not None
                and task.status == "SUCCEEDED"
                and issued is not None
                and time.monotonic() < issued + self.output_ttl
            )
        if not valid:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"})
        return Reply(200, self.output_video.read_bytes(), {"Content-Type": "video/mp4"})


def validate_image_to_video(body: object) -> str | None:
    """What Runway would refuse in an image-to-video body (``None`` if nothing)."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        return f"Unrecognized key(s) in object: {', '.join(unknown)}"
    model = body.get("model")
    if model not in CREDITS_PER_SECOND:
        return f"model: Invalid enum value. Expected {' | '.join(CREDITS_PER_SECOND)}, received {model!r}"
    if body.get("ratio") not in RATIOS:
        return f"ratio: Invalid enum value. Expected one of {sorted(RATIOS)}, received {body.get('ratio')!r}"
    duration = body.get("duration", None if model == "gen4.5" else 10)
    if isinstance(duration, bool) or not isinstance(duration, int) or not 2 <= duration <= 10:
        return f"duration: {model} must specify a duration of 2-10 seconds"
    text = body.get("promptText")
    if text is None and model == "gen4.5":
        return "promptText: Required"
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            return "promptText: must be a non-empty string"
        if len(text.encode("utf-16-le")) // 2 > 1000:
            return "promptText: must be at most 1000 characters"
    seed = body.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 4294967295
    ):
        return "seed: must be an integer between 0 and 4294967295"
    image = body.get("promptImage")
    if isinstance(image, list):
        if len(image) != 1 or not isinstance(image[0], dict) or image[0].get("position") != "first":
            return "promptImage: expected one image with position 'first'"
        image = image[0].get("uri")
    if not isinstance(image, str):
        return "promptImage: Required (a URL or a data URI)"
    return _validate_image_uri(image)


def _validate_image_uri(uri: str) -> str | None:
    if uri.startswith("data:"):
        match = _DATA_URI.match(uri)
        if match is None:
            return "promptImage: data URIs must have a content type of image/jpeg, image/png or image/webp"
        if len(uri) > DATA_URI_LIMIT:
            return f"promptImage: data URI is {len(uri)} bytes; the limit is 5 MB ({DATA_URI_LIMIT} bytes)"
        try:
            base64.b64decode(uri[match.end() :], validate=True)
        except (binascii.Error, ValueError):
            return "promptImage: data URI is not valid base64"
        return None
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname:
        return "promptImage: URLs must use HTTPS"
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        pass
    else:
        return "promptImage: URLs must use a domain name, not an IP address"
    if len(uri) > 2048:
        return "promptImage: URLs must be at most 2048 characters"
    return None
