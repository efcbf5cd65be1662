"""The API and a worker on S3: the photo, the clip and its poster live only in the bucket, the
worker reads its input from there, and the browser fetches media from the store, not the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from api.storage import open_storage
from assembly.probe import probe
from devstack.services import EmbeddedSeaweedFS
from tests.integration.conftest import running_worker, wait_until
from tests.integration.storage.conftest import s3_settings
from tests.paths import PHOTOS


@pytest.fixture
async def s3_stack(
    settings: Settings, seaweedfs: EmbeddedSeaweedFS, clean_db: None,
) -> AsyncIterator[tuple[Settings, AsyncTestClient[Any]]]:
    configured = s3_settings(settings, seaweedfs)
    async with running_worker(configured), AsyncTestClient(app=create_app(configured)) as client:
        yield configured, client


async def test_free_try_on_s3_keeps_media_in_the_bucket_and_serves_it_from_there(
    s3_stack: tuple[Settings, AsyncTestClient[Any]], tmp_path: Path,
) -> None:
    configured, client = s3_stack
    assert configured.s3 is not None
    local_before = {p for p in configured.media_dir.rglob("*") if p.is_file()}
    photo = PHOTOS / "chelsea.jpg"
    created = await client.post("/api/try", files={"photo": ("chelsea.jpg", photo.read_bytes(), "image/jpeg")})
    assert created.status_code == 202, created.text

    async def done() -> dict[str, Any] | None:
        body = (await client.get(f"/api/try/{created.json()['id']}")).json()
        return body if body["status"] in ("succeeded", "failed") else None

    body = await wait_until(done, timeout=120)
    assert body["status"] == "succeeded", body
    store = f"{configured.s3.public_endpoint}/{configured.s3.bucket}/clips/"
    assert body["videoUrl"].startswith(store) and "X-Amz-Signature=" in body["videoUrl"]

    async with httpx.AsyncClient() as browser:
        video = await browser.get(body["videoUrl"])
        head = await browser.get(body["videoUrl"], headers={"Range": "bytes=0-1023"})
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert head.status_code == 206 and head.content == video.content[:1024]
    (tmp_path / "clip.mp4").write_bytes(video.content)
    info = probe(tmp_path / "clip.mp4")
    assert info.video is not None and info.video.codec == "h264"

    stored = [key async for key in open_storage(configured).list_keys()]
    assert any(key.startswith("photos/") for key in stored)
    assert {p for p in configured.media_dir.rglob("*") if p.is_file()} == local_before
