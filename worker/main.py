"""The worker process: one SAQ worker per queue, sharing one set of resources.

``clips`` is I/O-bound (providers, downloads) and runs many jobs at once; ``renders`` is
CPU-bound and runs as many as there are cores; ``default`` carries notifications and crons so
a burst of clips never starves them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import socket
import sys
from typing import Any

import structlog
from saq import CronJob, Worker

from api.config import Settings, parse_name_list
from api.jobs import QueueName, Queues
from api.logging import configure_logging
from worker.context import WorkerResources
from worker.jobs.clips import after_clip_job, expire_free_tries, generate_clip, sweep_stuck_clips
from worker.jobs.music import transcode_music
from worker.jobs.notifications import deliver_push, send_push
from worker.jobs.privacy import sweep_orphan_media
from worker.jobs.renders import after_render_job, render_project, sweep_stuck_renders
from worker.observability import bind_job_context, record_job

log = structlog.get_logger()


def selected_queues(settings: Settings) -> list[QueueName]:
    """The queues this process serves: ``WORKER_QUEUES`` / ``--queues``, or all of them."""
    if not settings.worker_queues:
        return list(QueueName)
    known = {q.value: q for q in QueueName}
    unknown = [name for name in settings.worker_queues if name not in known]
    if unknown:
        raise SystemExit(f"unknown queue(s) {unknown}; choose from {sorted(known)}")
    return [known[name] for name in settings.worker_queues]


def worker_id(queue: QueueName) -> str:
    """``host/pid/queue``, so a health check can find this host's workers in SAQ's registry.

    No colons: SAQ keeps worker ids inside colon-separated Redis keys and splits on them.
    """
    return f"{socket.gethostname()}/{os.getpid()}/{queue.value}"


def build_workers(resources: WorkerResources) -> list[Worker]:
    settings = resources.settings
    queues = resources.queues

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources

    common: dict[str, Any] = {
        "startup": startup,
        "before_process": bind_job_context,
        "timers": {"sweep": settings.worker_sweep_seconds, "abort": 1, "schedule": 1},
    }
    options: dict[QueueName, dict[str, Any]] = {
        QueueName.CLIPS: {
            "functions": [generate_clip],
            "concurrency": settings.worker_clips_concurrency,
            "after_process": [after_clip_job, record_job],
        },
        QueueName.RENDERS: {
            "functions": [render_project],
            "concurrency": settings.worker_renders_concurrency,
            "after_process": [after_render_job, record_job],
        },
        QueueName.DEFAULT: {
            "functions": [send_push, deliver_push, transcode_music],
            "concurrency": settings.worker_default_concurrency,
            "after_process": record_job,
            "cron_jobs": [
                CronJob(sweep_stuck_clips, cron="* * * * *", unique=True, timeout=120, retries=1),
                CronJob(sweep_stuck_renders, cron="* * * * *", unique=True, timeout=120, retries=1),
                CronJob(expire_free_tries, cron="17 * * * *", unique=True, timeout=600, retries=1),
                CronJob(sweep_orphan_media, cron="43 * * * *", unique=True, timeout=1800, retries=1),
            ],
        },
    }
    return [
        Worker(queues[name], id=worker_id(name), **options[name], **common)
        for name in selected_queues(settings)
    ]


async def run(settings: Settings) -> None:
    resources = await WorkerResources.open(settings)
    resources.scratch.remove_stale()
    workers = build_workers(resources)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        from api.metrics import process_registry

        start_http_server(
            settings.worker_metrics_port, addr=settings.worker_metrics_host, registry=process_registry(settings.prometheus_multiproc_dir)
        )
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


async def healthcheck(settings: Settings) -> bool:
    """True when every queue this host should serve has a live worker of this host in Redis."""
    queues = Queues(settings.redis_url, prefix=settings.queue_prefix)
    await queues.connect()
    try:
        host = socket.gethostname() + "/"
        for name in selected_queues(settings):
            info = await asyncio.wait_for(queues[name].info(), timeout=3)
            if not any(str(worker_id).startswith(host) for worker_id in info["workers"]):
                print(f"no live worker of this host on queue {name.value}", file=sys.stderr)
                return False
        return True
    finally:
        await queues.disconnect()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description="Echoes job workers")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "healthcheck"])
    parser.add_argument("--queues", help="comma-separated queues to serve (default: WORKER_QUEUES, or all)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.queues:
        settings = dataclasses.replace(settings, worker_queues=parse_name_list(args.queues))
    selected_queues(settings)
    if args.command == "healthcheck":
        sys.exit(0 if asyncio.run(healthcheck(settings)) else 1)
    configure_logging(level=settings.log_level, json=settings.log_json)
    asyncio.run(run(settings))
