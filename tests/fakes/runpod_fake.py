"""A fake Runpod serverless queue endpoint that runs our real handler.

It speaks the platform's REST API (``shared/contracts/EXTERNAL_APIS.md`` §2), not the
``runpod`` SDK's local test server (whose routes and methods differ):

- ``POST /v2/{endpoint_id}/run`` with ``{"input": {...}, "policy"?: {...}}`` ->
  ``{"id", "status": "IN_QUEUE"}``; ``input`` must be a non-empty object, the body at most
  10 MB, ``policy.executionTimeout`` over 5000 ms and ``policy.ttl`` 10 s to a week;
- ``GET /v2/{endpoint_id}/status/{id}`` -> ``{id, status, delayTime, executionTime,
  output?, error?}`` through IN_QUEUE -> IN_PROGRESS -> COMPLETED / FAILED / TIMED_OUT
  (after ``executionTimeout``) / CANCELLED; a finished job is forgotten ``result_ttl``
  seconds later (then 404);
- ``POST /v2/{endpoint_id}/runsync?wait=ms``, ``POST /v2/{endpoint_id}/cancel/{id}`` and
  ``GET /v2/{endpoint_id}/health``;
- ``authorization: Bearer <key>`` is required (401), an unknown endpoint id is a 404.

Jobs run on ``workers`` threads, each calling the handler (by default
:func:`worker.runpod_handler.handler`) in its own event loop, with the handler-result rules
of runpod 1.12.0's ``rp_job.run_job``: a returned ``error`` key fails the job with that
message (the rest stays the output), an exception fails it with Runpod's JSON description.
Cancelling a job, or passing its ``executionTimeout``, cancels the handler's task.

Knobs: ``queue_delay`` (seconds a job waits before a worker picks it up), ``hang`` (jobs
are never picked up), ``endpoint_execution_timeout`` (a shorter execution limit than any
policy may ask for, to reach TIMED_OUT quickly), ``down`` (503 for everything) and
:meth:`~FakeHTTPServer.fail_next`.

:class:`BucketFake` is an S3-compatible bucket for the handler's optional upload path.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import secrets
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.fakes._threaded_http import FakeHTTPServer, FakeRequest, Reply

MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_EXECUTION_TIMEOUT_MS = 600_000
DEFAULT_TTL_MS = 24 * 3600 * 1000
_PATH = re.compile(
    r"^/v2/([^/]+)/(run|runsync|status|cancel|health|stream|retry|purge-queue)(?:/([^/]+))?$"
)
_TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass
class FakeJob:
    id: str
    input: dict[str, Any]
    execution_timeout: float
    ttl: float
    created: float
    status: str = "IN_QUEUE"
    started: float | None = None
    finished: float | None = None
    output: Any = None
    error: str | None = None
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _default_handler() -> Callable[[dict[str, Any]], Any]:
    from worker.runpod_handler import handler

    return handler


class RunpodFake(FakeHTTPServer):
    def __init__(
        self,
        *,
        api_key: str | None = None,
        endpoint_id: str | None = None,
        handler: Callable[[dict[str, Any]], Any] | None = None,
        workers: int = 1,
        queue_delay: float = 0.0,
        result_ttl: float = 1800.0,
    ) -> None:
        super().__init__()
        self.api_key = api_key or "rpa_" + secrets.token_hex(20).upper()
        self.endpoint_id = endpoint_id or secrets.token_hex(7)
        self.handler = handler or _default_handler()
        self.workers = workers
        self.queue_delay = queue_delay
        self.result_ttl = result_ttl
        self.hang = False
        self.down = False
        #: The endpoint's own execution limit in seconds, applied on top of each job's policy.
        self.endpoint_execution_timeout: float | None = None
        self.jobs: dict[str, FakeJob] = {}
        self._stopping = threading.Event()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def base_url(self) -> str:
        """What ``RUNPOD_API_BASE`` would be (the endpoint id goes after it)."""
        return f"{self.url}/v2"

    def start(self) -> RunpodFake:
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="runpod-fake"
        )
        return super().start()

    def stop(self) -> None:
        super().stop()
        self._stopping.set()
        with self.lock:
            for job in self.jobs.values():
                self._cancel_task(job)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def job(self, job_id: str) -> FakeJob:
        with self.lock:
            return self.jobs[job_id]

    def route(self, request: FakeRequest) -> Reply:
        if self.down:
            return Reply.error(503, "upstream connect error or disconnect/reset before headers")
        if request.header("authorization") != f"Bearer {self.api_key}":
            return Reply.error(401, "Unauthorized")
        match = _PATH.match(request.path)
        if match is None or match.group(1) != self.endpoint_id:
            return Reply.error(404, "404 page not found")
        operation, job_id = match.group(2), match.group(3)
        allowed = {
            "run": "POST",
            "runsync": "POST",
            "cancel": "POST",
            "status": "GET",
            "health": "GET",
        }
        if operation not in allowed:
            return Reply.error(404, f"{operation} is not implemented by this fake")
        if request.method != allowed[operation]:
            return Reply.error(405, "Method Not Allowed")
        if operation in ("status", "cancel") and not job_id:
            return Reply.error(404, "404 page not found")
        if operation == "run":
            return self._run(request, wait=None)
        if operation == "runsync":
            wait = min(300_000, max(1000, int(request.query.get("wait", 90_000))))
            return self._run(request, wait=wait / 1000)
        if operation == "status":
            return self._status(job_id)
        if operation == "cancel":
            return self._cancel(job_id)
        return self._health()

    def _run(self, request: FakeRequest, *, wait: float | None) -> Reply:
        if len(request.body) > MAX_BODY_BYTES:
            return Reply.error(400, "request body is larger than the 10 MB limit for /run")
        try:
            body = request.json()
        except ValueError:
            return Reply.error(400, "invalid JSON body")
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("input"), dict)
            or not body["input"]
        ):
            return Reply.error(400, "input is required and must be a non-empty object")
        policy = body.get("policy") or {}
        problem = _validate_policy(policy)
        if problem:
            return Reply.error(400, problem)
        job = FakeJob(
            id=f"{uuid.uuid4()}-u1",
            input=body["input"],
            execution_timeout=policy.get("executionTimeout", DEFAULT_EXECUTION_TIMEOUT_MS) / 1000,
            ttl=policy.get("ttl", DEFAULT_TTL_MS) / 1000,
            created=time.monotonic(),
        )
        with self.lock:
            self.jobs[job.id] = job
            if not self.hang and self._executor is not None:
                self._executor.submit(self._work, job)
        if wait is None:
            return Reply.json(200, {"id": job.id, "status": "IN_QUEUE"})
        job.done.wait(wait)
        with self.lock:
            return Reply.json(200, self._render(job))

    def _status(self, job_id: str) -> Reply:
        with self.lock:
            job = self._live_job(job_id)
            if job is None:
                return Reply.error(404, f"job {job_id} not found")
            return Reply.json(200, self._render(job))

    def _cancel(self, job_id: str) -> Reply:
        with self.lock:
            job = self._live_job(job_id)
            if job is None:
                return Reply.error(404, f"job {job_id} not found")
            if job.status not in _TERMINAL:
                self._finish(job, "CANCELLED")
                self._cancel_task(job)
            return Reply.json(200, {"id": job.id, "status": job.status})

    def _health(self) -> Reply:
        with self.lock:
            statuses = [j.status for j in self.jobs.values()]
        return Reply.json(
            200,
            {
                "jobs": {
                    "completed": statuses.count("COMPLETED"),
                    "failed": statuses.count("FAILED") + statuses.count("TIMED_OUT"),
                    "inProgress": statuses.count("IN_PROGRESS"),
                    "inQueue": statuses.count("IN_QUEUE"),
                    "retried": 0,
                },
                "workers": {
                    "idle": self.workers - statuses.count("IN_PROGRESS"),
                    "running": statuses.count("IN_PROGRESS"),
                },
            },
        )

    def _live_job(self, job_id: str) -> FakeJob | None:
        """The job, unless it never existed or has been forgotten (result or queue TTL)."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        now = time.monotonic()
        if job.finished is not None and now >= job.finished + self.result_ttl:
            return None
        if job.status == "IN_QUEUE" and now >= job.created + job.ttl:
            return None
        return job

    def _render(self, job: FakeJob) -> dict[str, Any]:
        now = time.monotonic()
        payload: dict[str, Any] = {
            "id": job.id,
            "status": job.status,
            "delayTime": round(((job.started or job.finished or now) - job.created) * 1000),
        }
        if job.started is not None:
            payload["executionTime"] = round(((job.finished or now) - job.started) * 1000)
        if job.output is not None:
            payload["output"] = job.output
        if job.error is not None:
            payload["error"] = job.error
        return payload

    def _finish(self, job: FakeJob, status: str) -> None:
        job.status = status
        job.finished = time.monotonic()
        job.done.set()

    def _cancel_task(self, job: FakeJob) -> None:
        if job.loop is not None and job.task is not None:
            with contextlib.suppress(RuntimeError):  # the job's loop has just closed
                job.loop.call_soon_threadsafe(job.task.cancel)

    def _work(self, job: FakeJob) -> None:
        """One worker thread's turn: wait in the queue, then run the handler to completion."""
        if self._stopping.wait(self.queue_delay):
            return
        with self.lock:
            if job.status != "IN_QUEUE" or time.monotonic() > job.created + job.ttl:
                return
            job.status, job.started = "IN_PROGRESS", time.monotonic()
        try:
            result = asyncio.run(self._execute(job))
        except TimeoutError:
            with self.lock:
                if job.status == "IN_PROGRESS":
                    self._finish(job, "TIMED_OUT")
            return
        except asyncio.CancelledError:
            return
        with self.lock:
            if job.status != "IN_PROGRESS":
                return
            job.output = result.get("output")
            job.error = result.get("error")
            self._finish(job, "FAILED" if job.error else "COMPLETED")

    async def _execute(self, job: FakeJob) -> dict[str, Any]:
        with self.lock:
            job.loop = asyncio.get_running_loop()
            job.task = asyncio.current_task()
            if job.status != "IN_PROGRESS":
                raise asyncio.CancelledError
        limit = job.execution_timeout
        if self.endpoint_execution_timeout is not None:
            limit = min(limit, self.endpoint_execution_timeout)
        async with asyncio.timeout(limit):
            return await run_job(self.handler, {"id": job.id, "input": job.input})


async def run_job(handler: Callable[[dict[str, Any]], Any], job: dict[str, Any]) -> dict[str, Any]:
    """What runpod 1.12.0's ``rp_job.run_job`` makes of a handler's return or exception."""
    result: dict[str, Any] = {}
    try:
        returned = handler(job)
        output = await returned if inspect.isawaitable(returned) else returned
        if isinstance(output, dict):
            error = output.pop("error", None)
            output.pop("refresh_worker", None)
            result["output"] = output
            if error:
                result["error"] = error
        else:
            result["output"] = output
        if result.get("output") == {}:
            result.pop("output")
    except Exception as exc:
        result = {
            "error": json.dumps(
                {
                    "error_type": str(type(exc)),
                    "error_message": str(exc),
                    "error_traceback": traceback.format_exc(),
                    "hostname": "fake-runpod-host",
                    "worker_id": "fake-runpod-worker",
                    "runpod_version": "1.12.0",
                }
            )
        }
    return result


def _validate_policy(policy: object) -> str | None:
    if not isinstance(policy, dict):
        return "policy must be an object"
    unknown = sorted(set(policy) - {"executionTimeout", "lowPriority", "ttl"})
    if unknown:
        return f"unknown policy fields: {', '.join(unknown)}"
    timeout = policy.get("executionTimeout", DEFAULT_EXECUTION_TIMEOUT_MS)
    if not isinstance(timeout, int) or timeout <= 5000:
        return "policy.executionTimeout must be an integer number of milliseconds over 5000"
    ttl = policy.get("ttl", DEFAULT_TTL_MS)
    if not isinstance(ttl, int) or not 10_000 <= ttl <= 7 * 24 * 3600 * 1000:
        return "policy.ttl must be from 10000 ms to one week"
    return None


class BucketFake(FakeHTTPServer):
    """An S3-compatible bucket store (path-style): signed PUTs in, presigned GETs out.

    It checks that requests are SigV4-signed (an ``AWS4-HMAC-SHA256`` Authorization header
    on PUT, ``X-Amz-Signature`` on a presigned GET) but not the signatures themselves.
    """

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, tuple[bytes, str]] = {}

    def route(self, request: FakeRequest) -> Reply:
        key = request.path.lstrip("/")
        if "/" not in key:
            return Reply(
                400,
                b"<Error><Code>InvalidRequest</Code></Error>",
                {"Content-Type": "application/xml"},
            )
        if request.method == "PUT":
            if not (request.header("authorization") or "").startswith("AWS4-HMAC-SHA256"):
                return Reply(
                    403,
                    b"<Error><Code>AccessDenied</Code></Error>",
                    {"Content-Type": "application/xml"},
                )
            with self.lock:
                self.objects[key] = (
                    request.body,
                    request.header("content-type") or "binary/octet-stream",
                )
            return Reply(200, b"", {"ETag": f'"{uuid.uuid4().hex}"'})
        if request.method in ("GET", "HEAD"):
            if "X-Amz-Signature" not in request.query:
                return Reply(
                    403,
                    b"<Error><Code>AccessDenied</Code></Error>",
                    {"Content-Type": "application/xml"},
                )
            with self.lock:
                stored = self.objects.get(key)
            if stored is None:
                return Reply(
                    404,
                    b"<Error><Code>NoSuchKey</Code></Error>",
                    {"Content-Type": "application/xml"},
                )
            return Reply(200, stored[0], {"Content-Type": stored[1]})
        return Reply(405, b"", {})
