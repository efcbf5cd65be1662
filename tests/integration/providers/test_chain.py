"""The provider chain over the real clients, the fakes and a real Redis circuit breaker.

Time in the chain is virtual (:class:`ScaledClock`): the production schedule (polls from
1 s to 5 s, backoff from 1 s, a 600 s timeout) runs a hundred times faster, and every pause
the chain took is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from api.config import Settings
from assembly.probe import probe
from tests.fakes.runpod_fake import RunpodFake
from tests.fakes.runway_fake import RunwayFake
from tests.integration.providers.conftest import LOCAL_FAKES, ScaledClock
from tests.paths import PHOTOS
from worker.providers import build_chain
from worker.providers.base import (
    ContentRefused,
    JobRef,
    MotionProvider,
    MotionRequest,
    TransientProviderError,
)
from worker.providers.chain import ChainPolicy, CircuitBreaker, ProviderChain
from worker.providers.local import LocalMotionProvider
from worker.providers.runpod import RunpodProvider
from worker.providers.runway import REFUSAL_MESSAGE, RunwayProvider

PHOTO = PHOTOS / "rocket.jpg"
REQUEST = MotionRequest(photo_path=PHOTO, aspect="16:9", duration=5, seed=11)


@pytest.fixture
def quick_runpod(runway_output_video: Path) -> Iterator[RunpodFake]:
    """A Runpod endpoint whose handler answers at once with a ready-made video (the real
    handler's end-to-end run is in test_runpod.py)."""
    video = base64.b64encode(runway_output_video.read_bytes()).decode()

    async def ready_made(job: dict[str, Any]) -> dict[str, Any]:
        return {"video_base64": video, "content_type": "video/mp4", "model": "ready-made"}

    with RunpodFake(handler=ready_made) as fake:
        yield fake
    assert not fake.crashes, fake.crashes


@pytest.fixture
async def runway(runway_fake: RunwayFake) -> AsyncIterator[RunwayProvider]:
    provider = RunwayProvider(api_key=runway_fake.api_key, base_url=runway_fake.url, outbound=LOCAL_FAKES)
    yield provider
    await provider.aclose()


@pytest.fixture
async def runpod(quick_runpod: RunpodFake) -> AsyncIterator[RunpodProvider]:
    provider = RunpodProvider(
        api_key=quick_runpod.api_key,
        endpoint_id=quick_runpod.endpoint_id,
        base_url=quick_runpod.base_url,
        outbound=LOCAL_FAKES,
    )
    yield provider
    await provider.aclose()


def chain_of(
    *providers: MotionProvider, breaker: CircuitBreaker, clock: ScaledClock, **policy: Any
) -> ProviderChain:
    return ProviderChain(
        providers, breaker=breaker, policy=ChainPolicy(**policy), clock=clock, rng=random.Random(0)
    )


def assert_video(path: Path, *, width: int, height: int) -> None:
    info = probe(path)
    assert info.video is not None
    assert (info.video.width, info.video.height) == (width, height)
    assert info.video.frames > 0


async def test_runway_failing_with_503_fails_over_to_runpod_and_opens_its_circuit(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.down = True
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")

    assert (result.provider, result.path) == ("runpod", tmp_path / "clip.mp4")
    assert_video(result.path, width=1280, height=720)
    assert runway_fake.count("POST", "/v1/image_to_video") == 3
    first, second = clock.sleeps[:2]
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0  # backoff 1 s, 2 s less jitter
    assert await breaker.open_for("runway") == pytest.approx(60, abs=2)
    assert "503" in (await breaker.reason("runway") or "")
    assert not await breaker.is_open("runpod")


async def test_an_open_circuit_skips_runway_without_a_single_request(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    await breaker.record_failure("runway", "another worker saw 503s")
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert result.provider == "runpod"
    assert runway_fake.count() == 0


async def test_with_every_provider_down_the_chain_fails_transiently_listing_each(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    quick_runpod: RunpodFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.down = quick_runpod.down = True
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    with pytest.raises(TransientProviderError) as failed:
        await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert failed.value.provider == "chain"
    assert "runway:" in str(failed.value) and "runpod:" in str(failed.value)
    assert runway_fake.count() == 3 and quick_runpod.count() == 3
    assert await breaker.is_open("runway") and await breaker.is_open("runpod")
    assert not (tmp_path / "clip.mp4").exists()

    with pytest.raises(TransientProviderError) as skipped:
        await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert "circuit open" in str(skipped.value)
    assert skipped.value.retry_after is not None and 0 < skipped.value.retry_after <= 60
    assert runway_fake.count() == 3 and quick_runpod.count() == 3


async def test_a_content_refusal_is_final_with_no_failover(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    quick_runpod: RunpodFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.failure_code = "SAFETY.INPUT.TEXT"
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    with pytest.raises(ContentRefused) as refused:
        await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert refused.value.user_message == REFUSAL_MESSAGE
    assert quick_runpod.count() == 0
    assert not await breaker.is_open("runway")


async def test_a_failed_task_fails_over_without_opening_the_circuit(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.failure_code = "INTERNAL.BAD_OUTPUT.CODE01"
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert result.provider == "runpod"
    assert runway_fake.count("POST") == 1
    assert not await breaker.is_open("runway")


async def test_a_refused_api_key_fails_over_and_opens_the_circuit(
    runway_fake: RunwayFake,
    runpod: RunpodProvider,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    misconfigured = RunwayProvider(api_key="key_" + "f" * 128, base_url=runway_fake.url)
    chain = chain_of(misconfigured, runpod, breaker=breaker, clock=clock)
    try:
        result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    finally:
        await misconfigured.aclose()
    assert result.provider == "runpod"
    assert runway_fake.count() == 1  # a 401 is not retried
    assert "RUNWAY_API_KEY" in (await breaker.reason("runway") or "")


async def test_retry_after_is_honoured_and_the_same_provider_succeeds(
    runway: RunwayProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.fail_next(429, path_prefix="/v1/image_to_video", retry_after=7)
    runway_fake.fail_next(503, path_prefix="/v1/tasks/", retry_after_ms=2500)
    chain = chain_of(runway, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert result.provider == "runway"
    assert result.cost == pytest.approx(0.25)
    assert clock.sleeps[0] == 7.0
    assert clock.sleeps[1] == 2.5
    assert runway_fake.count("POST") == 2
    assert not await breaker.is_open("runway")


async def test_a_provider_asking_for_a_long_pause_is_left_at_once_for_that_long(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.daily_limit = 0
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert result.provider == "runpod"
    assert runway_fake.count("POST") == 1
    assert all(pause < 60 for pause in clock.sleeps)
    assert await breaker.open_for("runway") == pytest.approx(runway_fake.daily_retry_after, abs=2)


async def test_progress_and_the_submitted_job_are_reported(
    runway: RunwayProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    tmp_path: Path,
) -> None:
    runway_fake.run_seconds = 0.5
    events: list[object] = []

    async def on_submitted(ref: JobRef) -> None:
        events.append(ref)

    async def on_progress(value: float) -> None:
        events.append(value)

    chain = chain_of(runway, breaker=breaker, clock=ScaledClock(scale=0.02))
    result = await chain.generate(
        REQUEST, tmp_path / "clip.mp4", on_submitted=on_submitted, on_progress=on_progress
    )
    assert events[0] == JobRef("runway", result.job_id)
    progress = events[1:]
    assert len(progress) >= 2
    assert progress == sorted(progress) and len(set(progress)) == len(progress)
    assert all(isinstance(p, float) and 0 <= p < 1 for p in progress)


async def test_resume_polls_the_job_already_submitted(
    runway: RunwayProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    ref = await runway.submit(REQUEST)  # before the worker crashed
    chain = chain_of(runway, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4", resume=ref)
    assert result.job_id == ref.job_id
    assert runway_fake.count("POST") == 1
    assert_video(result.path, width=1280, height=720)


async def test_resuming_a_job_the_provider_no_longer_knows_submits_a_new_one(
    runway: RunwayProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    lost = JobRef("runway", "00000000-0000-0000-0000-000000000000")
    chain = chain_of(runway, breaker=breaker, clock=clock)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4", resume=lost)
    assert result.provider == "runway" and result.job_id != lost.job_id
    assert runway_fake.count("POST") == 1


async def test_a_job_past_the_timeout_is_cancelled_and_the_chain_fails_over(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    runway_fake.hang = True
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock, timeout=30)
    result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
    assert result.provider == "runpod"
    assert runway_fake.count("DELETE") == 1
    (task,) = runway_fake.tasks.values()
    assert task.status == "CANCELLED"
    assert "did not finish within 30 s" in (await breaker.reason("runway") or "")


async def test_the_local_provider_makes_a_stored_format_clip_through_the_chain(
    breaker: CircuitBreaker, clock: ScaledClock, tmp_path: Path
) -> None:
    local = LocalMotionProvider(scratch_dir=tmp_path / "scratch")
    chain = chain_of(local, breaker=breaker, clock=clock, poll_initial=0.05, poll_max=0.1)
    progress: list[float] = []

    async def on_progress(value: float) -> None:
        progress.append(value)

    request = MotionRequest(photo_path=PHOTO, aspect="1:1", duration=1, seed=2)
    result = await chain.generate(request, tmp_path / "local.mp4", on_progress=on_progress)
    assert (result.provider, result.cost) == ("local", 0.0)
    info = probe(result.path)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.fps, info.video.frames) == (
        960,
        960,
        24,
        24,
    )
    assert progress and progress == sorted(progress)
    assert list((tmp_path / "scratch").iterdir()) == []


async def test_abandoning_a_local_generation_stops_its_render_and_cleans_up(
    breaker: CircuitBreaker, tmp_path: Path
) -> None:
    local = LocalMotionProvider(scratch_dir=tmp_path / "scratch")
    submitted = asyncio.Event()

    async def on_submitted(ref: JobRef) -> None:
        submitted.set()

    chain = chain_of(local, breaker=breaker, clock=ScaledClock(scale=1.0))
    task = asyncio.create_task(
        chain.generate(REQUEST, tmp_path / "never.mp4", on_submitted=on_submitted)
    )
    await submitted.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list((tmp_path / "scratch").iterdir()) == []
    assert not (tmp_path / "never.mp4").exists()


async def test_chain_cancel_routes_to_the_provider_that_made_the_job(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
) -> None:
    runway_fake.hang = True
    chain = chain_of(runway, runpod, breaker=breaker, clock=clock)
    ref = await runway.submit(REQUEST)
    assert await chain.cancel(ref) is True
    assert runway_fake.task(ref.job_id).status == "CANCELLED"
    assert await chain.cancel(JobRef("elsewhere", "x")) is False


async def test_build_chain_follows_the_settings(
    runway_fake: RunwayFake,
    quick_runpod: RunpodFake,
    redis: Redis,
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {
            "ECHOES_ENV": "test",
            "ECHOES_VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": "s" * 40,
            "MOTION_PROVIDERS": "runway,runpod,local",
            "RUNWAY_API_KEY": runway_fake.api_key,
            "RUNWAY_API_BASE": runway_fake.url,
            "RUNPOD_API_KEY": quick_runpod.api_key,
            "RUNPOD_ENDPOINT_ID": quick_runpod.endpoint_id,
            "RUNPOD_API_BASE": quick_runpod.base_url,
            "PROVIDER_ATTEMPTS": "2",
            "PROVIDER_COOLDOWN_SECONDS": "30",
            "PROVIDER_POLL_SECONDS": "0.05",
            "QUEUE_PREFIX": f"test-build-chain-{tmp_path.name}-",
        }
    )
    runway_fake.down = True
    async with build_chain(settings, redis, clock=ScaledClock()) as chain:
        assert chain.names == ("runway", "runpod", "local")
        assert (chain.policy.attempts, chain.policy.poll_max) == (2, 0.05)
        result = await chain.generate(REQUEST, tmp_path / "clip.mp4")
        try:
            assert result.provider == "runpod"
            assert runway_fake.count() == 2
            assert chain.breaker.key("runway").startswith(settings.queue_prefix)
            assert await chain.breaker.open_for("runway") == pytest.approx(30, abs=2)
        finally:
            await redis.delete(chain.breaker.key("runway"))


async def test_provider_calls_and_failures_are_counted_for_prometheus(
    runway: RunwayProvider,
    runpod: RunpodProvider,
    runway_fake: RunwayFake,
    breaker: CircuitBreaker,
    clock: ScaledClock,
    tmp_path: Path,
) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    failures_before = sample("echoes_provider_failures_total", provider="runway", kind="TransientProviderError")
    submits_before = sample("echoes_provider_call_seconds_count", provider="runpod", operation="submit")
    runway_fake.down = True
    await chain_of(runway, runpod, breaker=breaker, clock=clock).generate(REQUEST, tmp_path / "clip.mp4")

    failures = sample("echoes_provider_failures_total", provider="runway", kind="TransientProviderError")
    assert failures - failures_before == 3
    assert sample("echoes_provider_call_seconds_count", provider="runpod", operation="submit") - submits_before == 1
