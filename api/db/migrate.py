"""Apply, check and author Alembic migrations with the URL from :class:`Settings`."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from api.config import REPO_ROOT
from api.db import models as m


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Runs in a thread-free, blocking way (own loop)."""
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


async def schema_diff(database_url: str) -> list[object]:
    """Differences between the models and the database schema (empty when they agree)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: compare_metadata(
                    MigrationContext.configure(
                        sync_conn, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    m.metadata,
                )
            )
    finally:
        await engine.dispose()


def check(database_url: str) -> list[object]:
    return asyncio.run(schema_diff(database_url))
