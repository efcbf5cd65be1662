"""The Runway client against the Runway fake: the wire contract, every error class, downloads."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from assembly.probe import probe
from tests.fakes.runway_fake import RunwayFake
from tests.integration.providers.conftest import LOCAL_FAKES, poll_until_finished
from tests.paths import PHOTOS
from worker.providers.base import (
    ContentRefused,
    JobRef,
    JobState,
    MotionRequest,
    ProviderFailed,
    TransientProviderError,
)
from worker.providers.runway import DATA_URI_LIMIT, REFUSAL_MESSAGE, RunwayProvider

PHOTO = PHOTOS / "astronaut.jpg"


@pytest.fixture
async def runway(runway_fake: RunwayFake) -> AsyncIterator[RunwayProvider]:
    provider = RunwayProvider(api_key=runway_fake.api_key, base_url=runway_fake.url, outbound=LOCAL_FAKES)
    yield provider
    await provider.aclose()


def request(**overrides: object) -> MotionRequest:
    fields: dict[str, object] = {"photo_path": PHOTO, "aspect": "16:9", "duration": 5, "seed": 7}
    fields.update(overrides)
    return MotionRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def large_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real JPEG too big to inline: over 5 MB once base64-encoded."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(1800, 2400, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("large") / "noise.jpg"
    Image.fromarray(pixels).save(path, quality=95)
    assert path.stat().st_size * 4 / 3 > DATA_URI_LIMIT
    return path


async def test_a_task_runs_to_success_and_its_output_downloads(
    runway: RunwayProvider, runway_fake: RunwayFake, tmp_path: Path
) -> None:
    runway_fake.run_seconds = 0.3
    ref = await runway.submit(request(prompt="  a gentle breeze  ", aspect="9:16"))

    sent = runway_fake.requests[-1]
    assert sent.header("authorization") == f"Bearer {runway_fake.api_key}"
    assert sent.header("x-runway-version") == "2024-11-06"
    body = sent.json()
    assert body["model"] == "gen4_turbo"
    assert body["ratio"] == "720:1280"
    assert (body["duration"], body["seed"], body["promptText"]) == (5, 7, "a gentle breeze")
    prefix = "data:image/jpeg;base64,"
    assert body["promptImage"].startswith(prefix)
    assert base64.b64decode(body["promptImage"][len(prefix) :]) == PHOTO.read_bytes()

    statuses = await poll_until_finished(runway, ref)
    running = [s.progress for s in statuses if s.state is JobState.RUNNING]
    assert len(running) >= 2 and running == sorted(running) and 0 <= running[0] < running[-1] < 1
    done = statuses[-1]
    assert done.state is JobState.SUCCEEDED
    assert done.cost == pytest.approx(0.25)  # 5 s x 5 credits x $0.01
    assert done.extra["credits"] == 25

    dest = tmp_path / "runway.mp4"
    await runway.download(ref, done, dest)
    info = probe(dest)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.codec) == (1280, 720, "h264")
    assert info.video.fps == pytest.approx(30)
    assert info.video.frames == 150
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


async def test_with_no_delays_a_task_is_done_by_the_second_poll(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.pending_seconds = runway_fake.run_seconds = 0
    ref = await runway.submit(request())
    states = [s.state for s in await poll_until_finished(runway, ref)]
    assert states == [JobState.RUNNING, JobState.SUCCEEDED]


async def test_no_prompt_sends_no_prompt_text(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    await runway.submit(request(prompt="   "))
    assert "promptText" not in runway_fake.requests[-1].json()


async def test_tasks_over_the_concurrency_limit_read_as_throttled_and_queued(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.concurrency = 1
    runway_fake.hang = True
    first = await runway.submit(request())
    second = await runway.submit(request())
    await asyncio.sleep(runway_fake.pending_seconds * 2)
    assert (await runway.status(first)).state is JobState.RUNNING
    throttled = await runway.status(second)
    assert throttled.state is JobState.QUEUED
    assert throttled.extra["runway_status"] == "THROTTLED"
    assert throttled.poll_after is not None and throttled.poll_after >= 5
    assert throttled.extra["estimated_credits"] == 25

    await runway.cancel(first)
    assert (await runway.status(second)).extra["runway_status"] == "RUNNING"


async def test_a_wrong_key_is_a_configuration_error(runway_fake: RunwayFake) -> None:
    provider = RunwayProvider(api_key="key_" + "0" * 128, base_url=runway_fake.url)
    try:
        with pytest.raises(ProviderFailed) as failed:
            await provider.submit(request())
    finally:
        await provider.aclose()
    assert failed.value.code == "configuration"
    assert "401" in str(failed.value) and "RUNWAY_API_KEY" in str(failed.value)


async def test_a_request_runway_refuses_is_a_failure_naming_the_problem(
    runway_fake: RunwayFake,
) -> None:
    provider = RunwayProvider(
        api_key=runway_fake.api_key, base_url=runway_fake.url, model="gen3a_turbo"
    )
    try:
        with pytest.raises(ProviderFailed) as failed:
            await provider.submit(request())
    finally:
        await provider.aclose()
    assert failed.value.code == "bad_request"
    assert "HTTP 400" in str(failed.value) and "model" in str(failed.value)


async def test_a_photo_too_big_to_inline_goes_by_its_https_url(
    runway: RunwayProvider, runway_fake: RunwayFake, large_photo: Path
) -> None:
    url = "https://media.echoes.example/photos/abc.jpg?sig=123"
    ref = await runway.submit(request(photo_path=large_photo, photo_url=url))
    assert runway_fake.requests[-1].json()["promptImage"] == url
    assert runway_fake.task(ref.job_id).body["promptImage"] == url


@pytest.mark.parametrize("photo_url", [None, "http://media.echoes.example/photos/abc.jpg"])
async def test_a_photo_too_big_to_inline_without_an_https_url_fails_before_any_request(
    runway: RunwayProvider, runway_fake: RunwayFake, large_photo: Path, photo_url: str | None
) -> None:
    with pytest.raises(ProviderFailed, match="5 MB") as failed:
        await runway.submit(request(photo_path=large_photo, photo_url=photo_url))
    assert failed.value.code == "bad_request"
    assert runway_fake.count() == 0


async def test_the_fake_refuses_an_oversized_data_uri_naming_prompt_image(
    runway_fake: RunwayFake, http_client: httpx.AsyncClient, large_photo: Path
) -> None:
    uri = "data:image/jpeg;base64," + base64.b64encode(large_photo.read_bytes()).decode()
    response = await http_client.post(
        f"{runway_fake.url}/v1/image_to_video",
        headers={
            "Authorization": f"Bearer {runway_fake.api_key}",
            "X-Runway-Version": "2024-11-06",
        },
        json={"model": "gen4_turbo", "promptImage": uri, "ratio": "1280:720", "duration": 5},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("promptImage")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "30"}, 30.0),
        ({}, None),
    ],
)
async def test_rate_limits_are_transient_and_carry_the_requested_pause(
    runway: RunwayProvider, runway_fake: RunwayFake, headers: dict[str, str], expected: float | None
) -> None:
    runway_fake.fail_next(
        429,
        path_prefix="/v1/image_to_video",
        retry_after=float(headers["Retry-After"]) if "Retry-After" in headers else None,
        retry_after_ms=float(headers["retry-after-ms"]) if "retry-after-ms" in headers else None,
    )
    with pytest.raises(TransientProviderError) as transient:
        await runway.submit(request())
    assert transient.value.code == "http_429"
    assert transient.value.retry_after == expected


async def test_the_daily_limit_answers_429_with_a_long_retry_after(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.daily_limit = 1
    await runway.submit(request())
    with pytest.raises(TransientProviderError) as transient:
        await runway.submit(request())
    assert transient.value.retry_after == runway_fake.daily_retry_after
    assert "daily" in str(transient.value)


async def test_load_shedding_is_transient_on_every_call(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    status = 502
    ref = await runway.submit(request())
    runway_fake.fail_next(status, status, status)
    for call in (runway.submit(request()), runway.status(ref), runway.cancel(ref)):
        with pytest.raises(TransientProviderError) as transient:
            await call
        assert transient.value.code == f"http_{status}"


async def test_a_service_that_is_down_is_transient(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.down = True
    with pytest.raises(TransientProviderError, match="503"):
        await runway.submit(request())


async def test_timeouts_and_refused_connections_are_transient(runway_fake: RunwayFake) -> None:
    runway_fake.response_delay = 1.0
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        slow = RunwayProvider(
            api_key=runway_fake.api_key, base_url=runway_fake.url, client=impatient
        )
        with pytest.raises(TransientProviderError) as timed_out:
            await slow.submit(request())
    assert timed_out.value.code == "timeout"

    nowhere = RunwayProvider(api_key=runway_fake.api_key, base_url="http://127.0.0.1:9")
    try:
        with pytest.raises(TransientProviderError) as refused:
            await nowhere.status(JobRef("runway", "any"))
    finally:
        await nowhere.aclose()
    assert refused.value.code == "connection"


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "INPUT_PREPROCESSING.SAFETY.TEXT"])
async def test_a_safety_failure_is_a_content_refusal_with_a_message_for_people(
    runway: RunwayProvider, runway_fake: RunwayFake, code: str
) -> None:
    runway_fake.failure_code = code
    ref = await runway.submit(request(prompt="something refused"))
    with pytest.raises(ContentRefused) as refused:
        await poll_until_finished(runway, ref)
    assert refused.value.code == code
    assert refused.value.user_message == REFUSAL_MESSAGE


async def test_an_internal_failure_is_a_provider_failure(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.failure_code = "INTERNAL.BAD_OUTPUT.CODE01"
    ref = await runway.submit(request())
    with pytest.raises(ProviderFailed) as failed:
        await poll_until_finished(runway, ref)
    assert not isinstance(failed.value, ContentRefused)
    assert failed.value.code == "INTERNAL.BAD_OUTPUT.CODE01"


async def test_cancel_stops_a_running_task_and_deletes_a_finished_one(
    runway: RunwayProvider, runway_fake: RunwayFake
) -> None:
    runway_fake.hang = True
    running = await runway.submit(request())
    await runway.cancel(running)
    assert (await runway.status(running)).state is JobState.CANCELLED
    assert runway_fake.count("DELETE") == 1

    runway_fake.hang = False
    finished = await runway.submit(request())
    await poll_until_finished(runway, finished)
    await runway.cancel(finished)
    with pytest.raises(ProviderFailed) as gone:
        await runway.status(finished)
    assert gone.value.code == "not_found"
    await runway.cancel(finished)  # already deleted: nothing to do, no error


async def test_an_expired_output_url_fails_the_download_and_leaves_no_file(
    runway: RunwayProvider, runway_fake: RunwayFake, tmp_path: Path
) -> None:
    ref = await runway.submit(request())
    done = (await poll_until_finished(runway, ref))[-1]
    runway_fake.output_ttl = 0
    with pytest.raises(ProviderFailed) as gone:
        await runway.download(ref, done, tmp_path / "late.mp4")
    assert gone.value.code == "output_gone"
    assert list(tmp_path.iterdir()) == []


async def test_an_output_over_the_size_cap_is_refused(
    runway_fake: RunwayFake, runway_output_video: Path, tmp_path: Path
) -> None:
    provider = RunwayProvider(
        api_key=runway_fake.api_key,
        base_url=runway_fake.url,
        max_download_bytes=runway_output_video.stat().st_size - 1,
        outbound=LOCAL_FAKES,
    )
    try:
        ref = await provider.submit(request())
        done = (await poll_until_finished(provider, ref))[-1]
        with pytest.raises(ProviderFailed) as too_large:
            await provider.download(ref, done, tmp_path / "big.mp4")
    finally:
        await provider.aclose()
    assert too_large.value.code == "output_too_large"
    assert list(tmp_path.iterdir()) == []
