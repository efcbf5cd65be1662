"""What only the S3 backend has to prove: the server enforces signatures, and browsers get
URLs for the store's public address that bypass the API."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from obstore.exceptions import PermissionDeniedError

from api.config import Settings
from api.storage import S3Presigner, S3Storage, new_key, open_storage
from devstack.services import EmbeddedSeaweedFS
from tests.integration.storage.conftest import s3_settings


@pytest.fixture
def s3(settings: Settings, seaweedfs: EmbeddedSeaweedFS) -> Settings:
    return s3_settings(settings, seaweedfs)


async def test_a_wrong_secret_key_is_refused_by_the_server(s3: Settings) -> None:
    assert s3.s3 is not None
    key = new_key("conformance", "secret.jpg")
    await open_storage(s3).put_bytes(key, b"\xff\xd8\xff")
    forged = dataclasses.replace(s3.s3, secret_access_key=s3.s3.secret_access_key + "x")
    with pytest.raises(PermissionDeniedError):
        await S3Storage(forged).read_bytes(key)
    with pytest.raises(PermissionDeniedError):
        await S3Storage(forged).put_bytes(new_key("conformance", "forged.jpg"), b"x")
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(S3Presigner(forged).url(key))).status_code == 403
        assert (await browser.get(S3Presigner(s3.s3).url(key))).status_code == 200


async def test_presigned_urls_point_at_the_public_endpoint(
    settings: Settings, seaweedfs: EmbeddedSeaweedFS,
) -> None:
    public = f"http://localhost:{seaweedfs.port}"
    configured = s3_settings(settings, seaweedfs, S3_PUBLIC_ENDPOINT=public)
    assert configured.s3 is not None and configured.s3.endpoint == seaweedfs.url
    key = new_key("conformance", "poster.jpg")
    await open_storage(configured).put_bytes(key, b"\xff\xd8\xffposter")
    url = S3Presigner(configured.s3).url(key)
    assert url.startswith(f"{public}/{configured.s3.bucket}/{key}?")
    async with httpx.AsyncClient() as browser:
        reply = await browser.get(url)
    assert reply.status_code == 200
    assert reply.content == b"\xff\xd8\xffposter"


async def test_the_same_object_keeps_the_same_url_for_a_while(s3: Settings) -> None:
    assert s3.s3 is not None
    presigner = S3Presigner(s3.s3)
    start = 1_800_000_000
    assert presigner.url("clips/abc/clip.mp4", now=start + 1) == presigner.url("clips/abc/clip.mp4", now=start + 200)
    assert presigner.url("clips/abc/clip.mp4", now=start) != presigner.url("clips/abc/clip.mp4", now=start + 300)
