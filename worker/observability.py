"""Per-job log context and metrics, as SAQ lifecycle hooks shared by every worker pool.

``bind_job_context`` runs before each attempt: the job's task, key and the request id of the
request that queued it (``api.jobs`` puts it in the job's metadata) go into structlog's
context, so every line the job logs can be joined with the API's access log.
``record_job`` runs after each attempt and feeds the duration and failure metrics.
"""

from __future__ import annotations

from typing import Any

import structlog
from saq import Status

from api.metrics import JOB_FAILURES, JOB_SECONDS


async def bind_job_context(ctx: dict[str, Any]) -> None:
    job = ctx.get("job")
    if job is None:
        return
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task=job.function, job_key=job.key, attempt=job.attempts,
        request_id=(job.meta or {}).get("request_id"),
    )


async def record_job(ctx: dict[str, Any]) -> None:
    job = ctx.get("job")
    if job is None:
        return
    outcome = job.status.value if isinstance(job.status, Status) else str(job.status)
    if job.started:
        finished = job.completed or job.touched or job.started
        JOB_SECONDS.labels(job.function, outcome).observe(max(0.0, (finished - job.started) / 1000))
    if job.status in (Status.FAILED, Status.ABORTED) or job.error:
        JOB_FAILURES.labels(job.function, outcome).inc()
    structlog.contextvars.clear_contextvars()
