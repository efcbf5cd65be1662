"""Each worker pool serves the queues it is told to, and its health check sees exactly those."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from api.config import Settings
from api.jobs import QueueName
from tests.integration.conftest import started
from worker.context import WorkerResources
from worker.main import build_workers, healthcheck, main, selected_queues


def test_a_worker_serves_every_queue_unless_told_otherwise(settings: Settings) -> None:
    assert selected_queues(settings) == list(QueueName)
    only = dataclasses.replace(settings, worker_queues=("renders", "default"))
    assert selected_queues(only) == [QueueName.RENDERS, QueueName.DEFAULT]


def test_an_unknown_queue_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(SystemExit, match="unknown queue"):
        selected_queues(dataclasses.replace(settings, worker_queues=("clips", "videos")))
    with pytest.raises(SystemExit):
        main(["run", "--queues", "nope"])


async def test_a_clips_pool_starts_only_the_clips_worker_and_reports_healthy(
    settings: Settings, clean_db: None
) -> None:
    alone = dataclasses.replace(settings, queue_prefix=f"{settings.queue_prefix}pools-{uuid.uuid4().hex[:6]}-")
    clips_only = dataclasses.replace(alone, worker_queues=("clips",))
    assert not await healthcheck(clips_only)
    resources = await WorkerResources.open(clips_only)
    workers = build_workers(resources)
    assert [w.queue.name for w in workers] == [f"{alone.queue_prefix}clips"]
    try:
        async with started(workers):
            for _ in range(100):
                if await healthcheck(clips_only):
                    break
                await asyncio.sleep(0.05)
            assert await healthcheck(clips_only)
            assert not await healthcheck(dataclasses.replace(alone, worker_queues=("renders",)))
    finally:
        await resources.close()
