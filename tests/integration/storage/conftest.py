"""One conformance suite for every storage backend: local disk and S3 on a real SeaweedFS.

Each backend comes with the URLs browsers would be given for its objects and a way to fetch
them as a browser does: through the API's ``/media`` route on local disk, straight from
SeaweedFS (presigned) on S3.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from litestar.testing import AsyncTestClient

from api.config import Settings
from api.security.keys import Keys, as_text
from api.storage import MediaSigner, MediaUrls, Storage, media_urls, open_storage
from devstack.services import EmbeddedSeaweedFS, S3Credentials
from tests.conftest import make_settings

log = structlog.get_logger()

Fetch = Callable[..., Awaitable[httpx.Response]]


@dataclass
class Backend:
    name: str
    settings: Settings
    storage: Storage
    urls: MediaUrls
    fetch: Fetch


@pytest.fixture(scope="session")
def seaweedfs(embedded_dir: Path) -> Iterator[EmbeddedSeaweedFS]:
    credentials = S3Credentials.load_or_create(embedded_dir / "s3-credentials.json")
    started = time.monotonic()
    with EmbeddedSeaweedFS(embedded_dir / "seaweedfs", credentials=credentials) as server:
        log.info("seaweedfs_started", seconds=round(time.monotonic() - started, 2), endpoint=server.url)
        yield server


def s3_settings(settings: Settings, seaweedfs: EmbeddedSeaweedFS, **overrides: str) -> Settings:
    return make_settings(
        database_url=settings.database_url, redis_url=settings.redis_url,
        queue_prefix=settings.queue_prefix, var_dir=settings.var_dir,
        **{**seaweedfs.environment(), **overrides},
    )


def signer_for(settings: Settings) -> MediaSigner:
    return MediaSigner(as_text(Keys.derive(settings.secret_key).media_url), default_ttl=settings.media_url_ttl)


@pytest.fixture(params=["local", "s3"])
async def backend(
    request: pytest.FixtureRequest, settings: Settings, client: AsyncTestClient[Any],
) -> AsyncIterator[Backend]:
    if request.param == "local":

        async def through_api(url: str, **kwargs: Any) -> httpx.Response:
            return await client.get(url, **kwargs)

        yield Backend("local", settings, open_storage(settings), media_urls(settings, signer_for(settings)), through_api)
        return
    configured = s3_settings(settings, request.getfixturevalue("seaweedfs"))
    async with httpx.AsyncClient(timeout=30) as browser:

        async def from_store(url: str, **kwargs: Any) -> httpx.Response:
            return await browser.get(url, **kwargs)

        yield Backend("s3", configured, open_storage(configured), media_urls(configured, signer_for(configured)), from_store)
