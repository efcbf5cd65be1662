"""The orphan-media sweep deletes stored objects no row points to, after a grace period,
and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.db import models as m
from api.domain.privacy.media import MEDIA_REFERENCES
from api.domain.privacy.orphans import OrphanMediaSweep
from api.storage import Storage, new_key
from tests.integration.helpers import sign_up
from tests.integration.media import JPEG, MP4, all_keys, finish_render
from tests.integration.projects.conftest import new_project, photo_files


async def test_orphans_go_after_two_sweeps_a_grace_period_apart_and_referenced_and_builtin_media_stay(
    client: AsyncTestClient[Any], settings: Settings, db: async_sessionmaker[AsyncSession], storage: Storage,
) -> None:
    before = await all_keys(storage)
    me = (await sign_up(client))["user"]
    project = await new_project(client)
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
    render = await finish_render(db, storage, project["id"], me["id"])
    referenced = await all_keys(storage) - before
    builtin = "music/builtin-v1-sunrise/track.m4a"
    orphans = {new_key("clips", "clip.mp4"), new_key("photos", "photo.jpg"), new_key("renders", "video.mp4")}
    late = new_key("renders", "poster.jpg")
    elsewhere = "exports/keep/readme.txt"
    for key in [*orphans, late, builtin, elsewhere]:
        await storage.put_bytes(key, MP4)

    grace = timedelta(hours=settings.orphan_media_grace_hours)
    redis = Redis.from_url(settings.redis_url)
    sweep = OrphanMediaSweep(db, storage, redis, grace=grace, prefix=settings.queue_prefix)
    try:
        start = datetime.now(UTC)
        await sweep.run(now=start)
        assert orphans | {late} <= await all_keys(storage)
        async with db() as session, session.begin():
            row = await session.get(m.Render, render.id)
            assert row is not None
            row.poster_key = late
        await storage.put_bytes(late, JPEG)
        await sweep.run(now=start + grace - timedelta(minutes=1))
        assert orphans <= await all_keys(storage), "not before the grace period"
        due = await sweep.run(now=start + grace + timedelta(seconds=1))
        assert due.deleted >= len(orphans)
    finally:
        await redis.aclose()

    remaining = await all_keys(storage)
    assert not orphans & remaining
    assert {late, builtin, elsewhere} <= remaining
    assert referenced - {render.poster_key} <= remaining, "media rows point to stays"


async def test_a_key_that_was_referenced_in_between_is_not_deleted(
    settings: Settings, db: async_sessionmaker[AsyncSession], storage: Storage,
) -> None:
    key = new_key("clips", "clip.mp4")
    await storage.put_bytes(key, MP4)
    redis = Redis.from_url(settings.redis_url)
    sweep = OrphanMediaSweep(db, storage, redis, grace=timedelta(hours=1), prefix=settings.queue_prefix)
    try:
        start = datetime.now(UTC)
        await sweep.run(now=start)
        async with db() as session, session.begin():
            session.add(
                m.Photo(
                    visitor_id=uuid.uuid4(), storage_key=key, thumbnail_key=new_key("photos", "thumb.jpg"),
                    width=1, height=1, source_format="jpeg", size_bytes=1,
                )
            )
        await sweep.run(now=start + timedelta(minutes=30))
        async with db() as session, session.begin():
            await session.execute(sa.delete(m.Photo).where(m.Photo.storage_key == key))
        await sweep.run(now=start + timedelta(hours=2))
        assert key in await all_keys(storage), "unreferenced again since the last sweep: a fresh grace period"
        await sweep.run(now=start + timedelta(hours=3, seconds=1))
        assert key not in await all_keys(storage)
    finally:
        await redis.aclose()


def test_every_column_holding_a_storage_key_is_known_to_the_sweep() -> None:
    known = {(c.class_.__tablename__, c.key) for c in MEDIA_REFERENCES}
    found = {
        (table.name, column.name)
        for table in m.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_key") and isinstance(column.type, sa.String)
    }
    assert found <= known, f"add these to MEDIA_REFERENCES (or the sweep deletes their objects): {found - known}"
