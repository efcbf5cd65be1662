from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from tests.conftest import make_settings

ASGIApp = Callable[..., Any]


class FromAddress:
    """The app as reached from ``host``: what the server puts in the scope once it has taken
    the client from a trusted proxy's ``X-Forwarded-For`` (see tests/unit/test_trusted_proxies).
    ``host`` may be changed between requests."""

    def __init__(self, app: ASGIApp, host: str = "testclient") -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "client": (self.host, 40000)}
        await self.app(scope, receive, send)


@dataclass
class Limited:
    client: AsyncTestClient[Any]
    settings: Settings
    address: FromAddress


LimitedApp = Callable[..., AbstractAsyncContextManager[Limited]]


@pytest.fixture
def limited_app(settings: Settings, clean_db: None) -> LimitedApp:
    """An app built with the given setting overrides (small limits), with its own Redis
    prefix so counts never leak between tests."""

    @asynccontextmanager
    async def build(**env: str) -> AsyncIterator[Limited]:
        limited = make_settings(
            database_url=settings.database_url, redis_url=settings.redis_url,
            queue_prefix=f"{settings.queue_prefix}{os.urandom(3).hex()}-", var_dir=settings.var_dir, **env,
        )
        address = FromAddress(create_app(limited))
        async with AsyncTestClient(app=address) as client:
            yield Limited(client, limited, address)

    return build
