"""The worker process: one SAQ worker per queue, sharing one set of resources.

``clips`` is I/O-bound (providers, downloads) and runs many jobs at once; ``renders`` is
CPU-bound and runs as many as there are cores; ``default`` carries notifications and crons so
a burst of clips never starves them.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import structlog
from saq import CronJob, Worker

from api.config import Settings
from api.jobs import QueueName
from api.logging import configure_logging
from worker.context import WorkerResources
from worker.jobs.clips import after_clip_job, expire_free_tries, generate_clip, sweep_stuck_clips
from worker.jobs.notifications import deliver_push, send_push
from worker.jobs.renders import after_render_job, render_project

log = structlog.get_logger()


def build_workers(resources: WorkerResources) -> list[Worker]:
    settings = resources.settings
    queues = resources.queues

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources

    common: dict[str, Any] = {
        "startup": startup,
        "timers": {"sweep": settings.worker_sweep_seconds, "abort": 1, "schedule": 1},
    }
    return [
        Worker(
            queues[QueueName.CLIPS],
            functions=[generate_clip],
            concurrency=settings.worker_clips_concurrency,
            after_process=after_clip_job,
            **common,
        ),
        Worker(
            queues[QueueName.RENDERS],
            functions=[render_project],
            concurrency=settings.worker_renders_concurrency,
            after_process=after_render_job,
            **common,
        ),
        Worker(
            queues[QueueName.DEFAULT],
            functions=[send_push, deliver_push],
            concurrency=settings.worker_default_concurrency,
            cron_jobs=[
                CronJob(sweep_stuck_clips, cron="* * * * *", unique=True, timeout=120, retries=1),
                CronJob(expire_free_tries, cron="17 * * * *", unique=True, timeout=600, retries=1),
            ],
            **common,
        ),
    ]


async def run(settings: Settings) -> None:
    resources = await WorkerResources.open(settings)
    workers = build_workers(resources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(w.start()) for w in workers]
    log.info("worker_started", queues=[w.queue.name for w in workers])
    try:
        done, _ = await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task in tasks and task.exception():
                raise task.exception()  # type: ignore[misc]
    finally:
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await resources.close()
        log.info("worker_stopped")


def main() -> None:
    settings = Settings.from_env()
    configure_logging(level=settings.log_level, json=settings.log_json)
    asyncio.run(run(settings))
