"""Fixtures for the provider tests: the fakes, a real Redis for the breaker, a fast clock."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from redis.asyncio import Redis

from api.net import OutboundPolicy
from assembly.ffmpeg import ffmpeg_cmd
from tests.fakes.runpod_fake import RunpodFake
from tests.fakes.runway_fake import RunwayFake
from worker.providers.base import JobRef, JobState, JobStatus, MotionProvider
from worker.providers.chain import CircuitBreaker

#: The fakes serve their outputs from 127.0.0.1 over http, which the strict default refuses.
LOCAL_FAKES = OutboundPolicy(allow_loopback=True)


@pytest.fixture(scope="session")
def runway_output_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Runway's fake serves as every task's output: 5 s of 1280x720 at 30 fps (not the
    24 fps of a stored clip, so a test can see that normalising happens later)."""
    path = tmp_path_factory.mktemp("runway-output") / "output.mp4"
    subprocess.run(
        ffmpeg_cmd(
            *"-f lavfi -i testsrc2=size=1280x720:rate=30:duration=5".split(),
            *"-c:v libx264 -preset ultrafast -crf 35 -pix_fmt yuv420p".split(),
            str(path),
        ),
        check=True,
    )
    return path


MODEL_CALLS: list[dict[str, Any]] = []
#: ``ECHOES_I2V_MODEL`` value that plugs :func:`striped_model` into the Runpod handler.
STRIPED_MODEL = f"{__name__}:striped_model"


def striped_model(photo: Path, out: Path, **options: Any) -> None:
    """A stand-in for a real image-to-video model plugged in through ``ECHOES_I2V_MODEL``:
    records what it was given and writes 640x360 25 fps test bars (quicker than a render)."""
    with Image.open(photo) as image:
        MODEL_CALLS.append(
            {
                "photo_format": image.format,
                "photo_mode": image.mode,
                "photo_size": image.size,
                **options,
            }
        )
    subprocess.run(
        ffmpeg_cmd(
            *f"-f lavfi -i testsrc2=size=640x360:rate=25:duration={options['duration']}".split(),
            *"-c:v libx264 -preset ultrafast -pix_fmt yuv420p".split(),
            str(out),
        ),
        check=True,
    )


@pytest.fixture
def striped(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Run the Runpod handler with :func:`striped_model`; returns its record of calls."""
    monkeypatch.setenv("ECHOES_I2V_MODEL", STRIPED_MODEL)
    MODEL_CALLS.clear()
    return MODEL_CALLS


@pytest.fixture
def runway_fake(runway_output_video: Path) -> Iterator[RunwayFake]:
    with RunwayFake(runway_output_video) as fake:
        yield fake
    assert not fake.crashes, fake.crashes


@pytest.fixture
def runpod_fake() -> Iterator[RunpodFake]:
    with RunpodFake() as fake:
        yield fake
    assert not fake.crashes, fake.crashes


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def breaker(redis: Redis) -> AsyncIterator[CircuitBreaker]:
    """A breaker under a key prefix of its own, removed afterwards."""
    prefix = f"test-providers-{secrets.token_hex(4)}:"
    yield CircuitBreaker(redis, prefix=prefix, cooldown=60)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)


class ScaledClock:
    """Virtual time for the chain: every ``sleep`` advances it by the full amount (and is
    recorded) but really waits only ``scale`` of it, so schedules measured in minutes run
    in milliseconds while the fakes still get real time to move their jobs along."""

    def __init__(self, scale: float = 0.01) -> None:
        self.scale = scale
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(seconds * self.scale)


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock()


async def poll_until_finished(provider: MotionProvider, ref: JobRef) -> list[JobStatus]:
    """Every status read while the job ran, ending with the first finished one (20 s at most)."""
    seen: list[JobStatus] = []
    async with asyncio.timeout(20):
        while True:
            status = await provider.status(ref)
            seen.append(status)
            if status.state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED):
                return seen
            await asyncio.sleep(0.01)
