"""A built-in music library for the render tests, generated once and shared between runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.config import Settings
from api.domain.music.services import build_library_once, seed_builtin_library
from api.storage import LocalStorage
from tests.paths import MUSIC_CACHE


@pytest.fixture(scope="session")
def music_dir() -> Iterator[Path]:
    build_library_once(MUSIC_CACHE)
    yield MUSIC_CACHE


@pytest.fixture
async def seeded_music(settings: Settings, music_dir: Path, clean_db: None) -> int:
    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            return await seed_builtin_library(session, LocalStorage(settings.media_dir), music_dir)
    finally:
        await engine.dispose()
