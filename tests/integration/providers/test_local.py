"""The local motion provider's in-process jobs: slots, progress, cancellation, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assembly.probe import probe
from tests.integration.providers.conftest import poll_until_finished
from tests.paths import PHOTOS
from worker.providers.base import JobRef, JobState, MotionRequest, ProviderFailed
from worker.providers.local import LocalMotionProvider

REQUEST = MotionRequest(photo_path=PHOTOS / "hubble.jpg", aspect="16:9", duration=1, seed=5)


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalMotionProvider]:
    provider = LocalMotionProvider(scratch_dir=tmp_path / "scratch", max_concurrent=1)
    yield provider
    await provider.aclose()


async def test_a_job_renders_a_stored_format_clip_and_download_moves_it(
    local: LocalMotionProvider, tmp_path: Path
) -> None:
    ref = await local.submit(REQUEST)
    statuses = await poll_until_finished(local, ref)
    done = statuses[-1]
    assert (done.state, done.cost, done.extra["model"]) == (JobState.SUCCEEDED, 0.0, "local-motion")
    dest = tmp_path / "clip.mp4"
    await local.download(ref, done, dest)
    info = probe(dest)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.fps, info.video.frames) == (
        1280,
        720,
        24,
        24,
    )
    assert list((tmp_path / "scratch").iterdir()) == []
    with pytest.raises(ProviderFailed):
        await local.status(ref)


async def test_jobs_beyond_the_free_slots_wait_queued_and_cancel_cleans_up(
    local: LocalMotionProvider, tmp_path: Path
) -> None:
    first = await local.submit(REQUEST)
    second = await local.submit(REQUEST)
    await poll_until_running(local, first)
    assert (await local.status(second)).state is JobState.QUEUED

    await local.cancel(first)
    await poll_until_running(local, second)
    await local.cancel(second)
    assert list((tmp_path / "scratch").iterdir()) == []


async def test_a_render_that_fails_is_a_provider_failure(
    local: LocalMotionProvider, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((PHOTOS / "bad_truncated.jpg").read_bytes()[:200])
    ref = await local.submit(MotionRequest(photo_path=broken, aspect="1:1", duration=1))
    with pytest.raises(ProviderFailed) as failed:
        await poll_until_finished(local, ref)
    assert failed.value.code == "render_failed"
    assert list((tmp_path / "scratch").iterdir()) == []


async def test_a_job_from_before_a_restart_is_unknown(local: LocalMotionProvider) -> None:
    with pytest.raises(ProviderFailed) as lost:
        await local.status(JobRef("local", "from-another-process"))
    assert lost.value.code == "not_found"


async def poll_until_running(local: LocalMotionProvider, ref: JobRef) -> None:
    """Poll a job until it leaves the queue; it must then be running (not already done)."""
    async with asyncio.timeout(20):
        while True:
            status = await local.status(ref)
            if status.state is not JobState.QUEUED:
                break
            await asyncio.sleep(0.01)
    assert status.state is JobState.RUNNING
