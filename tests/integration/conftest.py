"""Integration fixtures: the app over Litestar's test client and an in-process worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from saq import Worker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from api.app import create_app
from api.config import Settings
from api.storage import Storage, open_storage
from worker.context import WorkerResources
from worker.main import build_workers


@pytest.fixture
async def clean_db(database_url: str, settings: Settings) -> AsyncIterator[None]:
    yield
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t["tablename"]}"' for t in tables) + " CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def client(settings: Settings, clean_db: None) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def storage(settings: Settings) -> Storage:
    """The media store the app under test uses."""
    return open_storage(settings)


@pytest.fixture
async def db(settings: Settings, clean_db: None) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database, for seeding and checking rows directly."""
    engine = create_async_engine(settings.database_url)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest.fixture
async def worker(settings: Settings, clean_db: None) -> AsyncIterator[WorkerResources]:
    """A real SAQ worker (all queues) running in this event loop for the test."""
    async with running_worker(settings) as resources:
        yield resources


@asynccontextmanager
async def started(workers: list[Worker]) -> AsyncIterator[None]:
    """Run ``workers`` in this event loop until the block ends, then stop them."""
    tasks = [asyncio.create_task(w.start()) for w in workers]
    try:
        yield
    finally:
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[WorkerResources]:
    """Every queue's worker for ``settings``, running in this event loop for the block."""
    resources = await WorkerResources.open(settings)
    try:
        async with started(build_workers(resources)):
            yield resources
    finally:
        await resources.close()


async def wait_until(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 60.0, interval: float = 0.1
) -> Any:
    """Await ``probe()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
