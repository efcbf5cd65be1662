"""A free try that fails for good gives the visitor (and the network) their try back, once;
and "sign up to download" is the API's rule: only the account that claimed the clip gets a
download link."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from tests.conftest import make_settings
from tests.fakes.runway_fake import RunwayFake
from tests.integration.conftest import running_worker, wait_until
from tests.integration.helpers import sign_up, sql
from tests.paths import PHOTOS


def _photo(name: str = "coffee.jpg") -> dict[str, Any]:
    return {"photo": (name, (PHOTOS / name).read_bytes(), "image/jpeg")}


@pytest.fixture(scope="module")
def provider_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess

    from assembly.ffmpeg import ffmpeg_cmd

    path = tmp_path_factory.mktemp("provider") / "output.mp4"
    subprocess.run(
        ffmpeg_cmd(*"-f lavfi -i testsrc2=size=1280x720:rate=24:duration=5".split(),
                   *"-c:v libx264 -preset ultrafast -pix_fmt yuv420p".split(), str(path)),
        check=True, capture_output=True,
    )
    return path


@pytest.fixture
def runway(provider_output: Path) -> Iterator[RunwayFake]:
    with RunwayFake(provider_output, pending_seconds=0, run_seconds=0) as fake:
        yield fake


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with running_worker(settings), AsyncTestClient(app=create_app(settings)) as client:
        yield client


def _runway_settings(base: Settings, runway: RunwayFake, **env: str) -> Settings:
    return make_settings(
        database_url=base.database_url, redis_url=base.redis_url,
        queue_prefix=f"{base.queue_prefix}{os.urandom(3).hex()}-", var_dir=base.var_dir,
        MOTION_PROVIDERS="runway", RUNWAY_API_KEY=runway.api_key, RUNWAY_API_BASE=runway.url,
        PROVIDER_ATTEMPTS="1", PROVIDER_POLL_SECONDS="0.2", **env,
    )


async def _settled(client: AsyncTestClient[Any], clip_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = (await client.get(f"/api/try/{clip_id}")).json()
        return body if body["status"] in ("succeeded", "failed") else None

    return await wait_until(done, timeout=120, interval=0.2)


async def test_a_failed_free_try_gives_the_visitor_one_try_back(
    settings: Settings, runway: RunwayFake, clean_db: None
) -> None:
    runway.failure_code = "SAFETY.INPUT.IMAGE"
    s = _runway_settings(settings, runway, FREE_TRY_PER_VISITOR="1")
    async with running(s) as client:
        first = await client.post("/api/try", files=_photo())
        assert first.status_code == 202, first.text
        assert (await _settled(client, first.json()["id"]))["status"] == "failed"

        runway.failure_code = None
        again = await client.post("/api/try", files=_photo("rocket.jpg"))
        assert again.status_code == 202, again.text
        assert (await _settled(client, again.json()["id"]))["status"] == "succeeded"

        # The failed try was given back once, not once per look at it: the next one is refused.
        third = await client.post("/api/try", files=_photo("chelsea.jpg"))
        assert third.status_code == 429
        assert third.json()["code"] == "RATE_LIMITED"
    rows = await sql(s.database_url, "SELECT status FROM clips ORDER BY created_at")
    assert [r["status"] for r in rows] == ["failed", "succeeded"]


async def test_a_failed_free_try_gives_the_network_its_try_back(
    settings: Settings, runway: RunwayFake, clean_db: None
) -> None:
    runway.failure_code = "SAFETY.INPUT.IMAGE"
    s = _runway_settings(settings, runway, FREE_TRY_PER_IP="1", FREE_TRY_PER_VISITOR="5")
    async with running(s) as client:
        first = await client.post("/api/try", files=_photo())
        assert (await _settled(client, first.json()["id"]))["status"] == "failed"

        runway.failure_code = None
        client.cookies.clear()
        neighbour = await client.post("/api/try", files=_photo("rocket.jpg"))
        assert neighbour.status_code == 202, neighbour.text
        client.cookies.clear()
        assert (await client.post("/api/try", files=_photo("chelsea.jpg"))).status_code == 429


async def test_a_free_clip_downloads_only_after_sign_up_claims_it(
    client: AsyncTestClient[Any], worker: Any, settings: Settings
) -> None:
    created = (await client.post("/api/try", files=_photo())).json()
    clip = await _settled(client, created["id"])
    assert clip["status"] == "succeeded"

    # Anonymous: watch yes, download no. The inline URL cannot be turned into a download link
    # (the download name is part of the signature).
    assert clip["downloadUrl"] is None
    assert "dl=" not in clip["videoUrl"]
    watched = await client.get(clip["videoUrl"])
    assert watched.status_code == 200 and "content-disposition" not in watched.headers
    forged = await client.get(clip["videoUrl"] + "&dl=echoes-free-clip.mp4")
    assert forged.status_code == 403

    signup = await sign_up(client)
    assert created["id"] in signup["claimedClipIds"]
    mine = (await client.get(f"/api/try/{created['id']}")).json()
    assert mine["downloadUrl"] and "dl=" in mine["downloadUrl"]
    download = await client.get(mine["downloadUrl"])
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content == watched.content
