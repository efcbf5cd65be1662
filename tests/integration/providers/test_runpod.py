"""The Runpod client against the Runpod fake, which runs our real handler end to end."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assembly.probe import probe
from tests.fakes.runpod_fake import BucketFake, RunpodFake
from tests.integration.providers.conftest import LOCAL_FAKES, poll_until_finished
from tests.paths import PHOTOS
from worker.providers.base import (
    JobRef,
    JobState,
    MotionRequest,
    ProviderFailed,
    TransientProviderError,
)
from worker.providers.runpod import RunpodProvider

PHOTO = PHOTOS / "chelsea.jpg"


def provider_for(fake: RunpodFake, **overrides: Any) -> RunpodProvider:
    options: dict[str, Any] = {
        "api_key": fake.api_key,
        "endpoint_id": fake.endpoint_id,
        "base_url": fake.base_url,
        "timeout_seconds": 60,
        "outbound": LOCAL_FAKES,
    }
    options.update(overrides)
    return RunpodProvider(**options)


@pytest.fixture
async def runpod(runpod_fake: RunpodFake) -> AsyncIterator[RunpodProvider]:
    provider = provider_for(runpod_fake)
    yield provider
    await provider.aclose()


def request(**overrides: object) -> MotionRequest:
    fields: dict[str, object] = {"photo_path": PHOTO, "aspect": "9:16", "duration": 1, "seed": 3}
    fields.update(overrides)
    return MotionRequest(**fields)  # type: ignore[arg-type]


class BlockingHandler:
    """A handler that runs until cancelled, telling the test when it started and stopped."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self, job: dict[str, Any]) -> dict[str, Any]:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


@pytest.fixture
def blocking() -> BlockingHandler:
    return BlockingHandler()


@pytest.fixture
def blocking_fake(blocking: BlockingHandler) -> Iterator[RunpodFake]:
    with RunpodFake(handler=blocking) as fake:
        yield fake
    assert not fake.crashes, fake.crashes


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 10), "the handler did not get there"


async def test_the_real_handler_turns_a_photo_into_an_mp4_through_the_fake(
    runpod: RunpodProvider, runpod_fake: RunpodFake, http_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    runpod_fake.queue_delay = 0.1
    ref = await runpod.submit(request(prompt="wind in the fur"))

    sent = runpod_fake.requests[-1]
    assert sent.path == f"/v2/{runpod_fake.endpoint_id}/run"
    assert sent.header("authorization") == f"Bearer {runpod_fake.api_key}"
    body = sent.json()
    assert body["policy"] == {"executionTimeout": 60_000, "ttl": 120_000}
    job_input = body["input"]
    assert base64.b64decode(job_input.pop("image_base64")) == PHOTO.read_bytes()
    assert job_input == {"aspect": "9:16", "duration": 1, "seed": 3, "prompt": "wind in the fur"}

    statuses = await poll_until_finished(runpod, ref)
    states = [s.state for s in statuses]
    assert states[0] is JobState.QUEUED and JobState.RUNNING in states
    done = statuses[-1]
    assert done.state is JobState.SUCCEEDED
    assert done.extra["model"] == "local-motion"
    assert done.extra["delay_ms"] >= 100 and done.extra["execution_ms"] > 0
    assert done.cost is None

    health = await http_client.get(
        f"{runpod_fake.base_url}/{runpod_fake.endpoint_id}/health",
        headers={"authorization": f"Bearer {runpod_fake.api_key}"},
    )
    assert health.json()["jobs"] == {
        "completed": 1,
        "failed": 0,
        "inProgress": 0,
        "inQueue": 0,
        "retried": 0,
    }

    dest = tmp_path / "runpod.mp4"
    await runpod.download(ref, done, dest)
    info = probe(dest)
    assert info.video is not None and info.audio is None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 720, 1280)
    assert info.video.frames == 24
    assert info.video.duration == pytest.approx(1.0, abs=0.05)


async def test_input_the_handler_refuses_fails_the_job_with_its_message(
    runpod: RunpodProvider, runpod_fake: RunpodFake
) -> None:
    ref = await runpod.submit(request(aspect="4:3"))
    with pytest.raises(ProviderFailed, match="aspect must be one of") as failed:
        await poll_until_finished(runpod, ref)
    assert failed.value.code == "FAILED"
    assert runpod_fake.job(ref.job_id).status == "FAILED"


async def test_a_photo_that_does_not_decode_fails_the_job(runpod: RunpodProvider) -> None:
    ref = await runpod.submit(request(photo_path=PHOTOS / "bad_not_an_image.jpg"))
    with pytest.raises(ProviderFailed, match="cannot be decoded"):
        await poll_until_finished(runpod, ref)


async def test_a_handler_exception_fails_the_job_with_its_type_and_message() -> None:
    async def out_of_memory(job: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("CUDA out of memory")

    with RunpodFake(handler=out_of_memory) as fake:
        provider = provider_for(fake)
        try:
            ref = await provider.submit(request())
            with pytest.raises(ProviderFailed) as failed:
                await poll_until_finished(provider, ref)
        finally:
            await provider.aclose()
    assert "RuntimeError" in str(failed.value) and "CUDA out of memory" in str(failed.value)


async def test_a_job_past_the_execution_timeout_is_timed_out_and_its_handler_stopped(
    blocking_fake: RunpodFake, blocking: BlockingHandler
) -> None:
    blocking_fake.endpoint_execution_timeout = 0.2
    provider = provider_for(blocking_fake)
    try:
        ref = await provider.submit(request())
        with pytest.raises(ProviderFailed) as failed:
            await poll_until_finished(provider, ref)
    finally:
        await provider.aclose()
    assert failed.value.code == "TIMED_OUT"
    await wait_for(blocking.cancelled)


async def test_cancel_stops_a_queued_job_and_a_running_handler(
    blocking_fake: RunpodFake, blocking: BlockingHandler
) -> None:
    provider = provider_for(blocking_fake)
    try:
        running = await provider.submit(request())
        await wait_for(blocking.started)
        queued = await provider.submit(request())  # one worker, busy: stays in the queue
        assert (await provider.status(queued)).state is JobState.QUEUED

        await provider.cancel(queued)
        await provider.cancel(running)
        await wait_for(blocking.cancelled)
        assert (await provider.status(running)).state is JobState.CANCELLED
        assert (await provider.status(queued)).state is JobState.CANCELLED
        await provider.cancel(JobRef("runpod", "never-existed"))  # unknown: nothing to do
    finally:
        await provider.aclose()


async def test_an_expired_result_reads_as_not_found() -> None:
    async def instant(job: dict[str, Any]) -> dict[str, Any]:
        return {"video_base64": base64.b64encode(b"video").decode(), "content_type": "video/mp4"}

    with RunpodFake(handler=instant) as fake:
        provider = provider_for(fake)
        try:
            ref = await provider.submit(request())
            assert (await poll_until_finished(provider, ref))[-1].state is JobState.SUCCEEDED
            fake.result_ttl = 0
            with pytest.raises(ProviderFailed) as gone:
                await provider.status(ref)
        finally:
            await provider.aclose()
    assert gone.value.code == "not_found"


async def test_a_wrong_key_or_endpoint_is_a_configuration_error(runpod_fake: RunpodFake) -> None:
    for overrides, setting in (
        ({"api_key": "rpa_WRONG"}, "RUNPOD_API_KEY"),
        ({"endpoint_id": "no-such-endpoint"}, "RUNPOD_ENDPOINT_ID"),
    ):
        provider = provider_for(runpod_fake, **overrides)
        try:
            with pytest.raises(ProviderFailed) as failed:
                await provider.submit(request())
        finally:
            await provider.aclose()
        assert failed.value.code == "configuration"
        assert setting in str(failed.value)
    assert runpod_fake.jobs == {}


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_transient(
    runpod: RunpodProvider, runpod_fake: RunpodFake, status: int
) -> None:
    runpod_fake.fail_next(status, retry_after=2)
    with pytest.raises(TransientProviderError) as transient:
        await runpod.submit(request())
    assert transient.value.retry_after == 2
    assert runpod_fake.jobs == {}


async def test_the_fake_refuses_an_execution_timeout_runpod_would_refuse(
    runpod_fake: RunpodFake, http_client: httpx.AsyncClient
) -> None:
    response = await http_client.post(
        f"{runpod_fake.base_url}/{runpod_fake.endpoint_id}/run",
        headers={"authorization": f"Bearer {runpod_fake.api_key}"},
        json={"input": {"aspect": "1:1"}, "policy": {"executionTimeout": 5000}},
    )
    assert response.status_code == 400
    assert "executionTimeout" in response.json()["error"]


async def test_a_handler_that_uploads_returns_a_url_the_client_downloads(
    runpod: RunpodProvider,
    striped: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with BucketFake() as bucket:
        monkeypatch.setenv("BUCKET_ENDPOINT_URL", bucket.url)
        monkeypatch.setenv("BUCKET_ACCESS_KEY_ID", "test-access-key")
        monkeypatch.setenv("BUCKET_SECRET_ACCESS_KEY", "test-secret-key")
        monkeypatch.setenv("ECHOES_OUTPUT_BUCKET", "echoes-clips")
        ref = await runpod.submit(request(aspect="1:1"))
        done = (await poll_until_finished(runpod, ref))[-1]
        assert done.state is JobState.SUCCEEDED
        assert "video_base64" not in done.extra
        (url,) = done.output_urls
        assert url.startswith(f"{bucket.url}/echoes-clips/{ref.job_id}/clip.mp4?")

        dest = tmp_path / "uploaded.mp4"
        await runpod.download(ref, done, dest)
    assert dest.read_bytes() == bucket.objects[f"echoes-clips/{ref.job_id}/clip.mp4"][0]
    info = probe(dest)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.frames) == (640, 360, 25)
    assert len(striped) == 1
