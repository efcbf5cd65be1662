"""Shared test infrastructure: real Postgres and Redis, migrated once per test session.

With ``DATABASE_URL`` / ``REDIS_URL`` set (CI), those servers are used; without them the
embedded servers from :mod:`devstack` are started for the run. Each pytest process (xdist
worker) gets its own database and its own Redis key prefix and removes them at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis import Redis as SyncRedis

from api.config import Settings, normalise_database_url


def _worker_tag() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw") + secrets.token_hex(3)


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="echoes-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def postgres_server_url(embedded_dir: Path) -> Iterator[str]:
    """``postgresql://`` URL of a server we may create databases on."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url.replace("postgresql+asyncpg://", "postgresql://")
        return
    from devstack.services import EmbeddedPostgres

    with EmbeddedPostgres(embedded_dir / "postgres", durable=False) as pg:
        yield pg.url


@pytest.fixture(scope="session")
def redis_url(embedded_dir: Path) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from devstack.services import EmbeddedRedis

    with EmbeddedRedis(embedded_dir / "redis", durable=False) as server:
        yield server.url


def _server_dsn(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test process, built only by the Alembic migrations."""
    name = f"echoes_test_{_worker_tag()}"
    admin = await asyncpg.connect(_server_dsn(postgres_server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = normalise_database_url(_server_dsn(postgres_server_url, name))
    import anyio.to_thread

    from api.db.migrate import upgrade

    await anyio.to_thread.run_sync(upgrade, url)
    yield url
    admin = await asyncpg.connect(_server_dsn(postgres_server_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def queue_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test-{_worker_tag()}-"
    yield prefix
    client = SyncRedis.from_url(redis_url)
    for key in client.scan_iter(match=f"saq:{prefix}*", count=1000):
        client.delete(key)
    for key in client.scan_iter(match=f"*{prefix}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def var_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="echoes-var-") as tmp:
        yield Path(tmp)


def make_settings(
    *, database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, **overrides: str
) -> Settings:
    env = {
        "ECHOES_ENV": "test",
        "ECHOES_VAR_DIR": str(var_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": queue_prefix,
        "FREE_TRY_PER_IP": "1000",
        "RATE_LIMIT_START_FREE_TRY_PER_HOUR": "1000",
        "SIGNUP_LIMIT_PER_HOUR": "1000",
        "LOGIN_LIMIT_PER_15MIN": "1000",
        "LOGIN_IP_LIMIT_PER_15MIN": "1000",
        "DATABASE_POOL_SIZE": "5",
        "LOG_LEVEL": "WARNING",
        # The fakes of push services and providers listen on 127.0.0.1 over plain http.
        "OUTBOUND_ALLOW_LOOPBACK": "true",
        **overrides,
    }
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, queue_prefix: str, var_dir: Path) -> Settings:
    return make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir
    )
