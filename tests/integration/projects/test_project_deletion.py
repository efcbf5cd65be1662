"""Deleting a project deletes its renders' files too, after the commit, and nothing else."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.config import Settings
from api.db import models as m
from api.storage import Storage
from tests.integration.helpers import sign_up, sql
from tests.integration.media import all_keys, finish_clips, finish_render
from tests.integration.projects.conftest import new_project, photo_files


async def test_deleting_a_project_deletes_every_render_video_and_poster_and_leaves_other_media(
    client: AsyncTestClient[Any], settings: Settings, db: async_sessionmaker[AsyncSession], storage: Storage,
    database_url: str,
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as other:
        stranger = (await sign_up(other))["user"]
        their_project = await new_project(other)
        await other.post(f"/api/projects/{their_project['id']}/photos", files=photo_files("astronaut.jpg"))
        await finish_render(db, storage, their_project["id"], stranger["id"])
    me = (await sign_up(client))["user"]
    keep = await new_project(client, "Keep me")
    await client.post(f"/api/projects/{keep['id']}/photos", files=photo_files("rocket.jpg"))
    await finish_render(db, storage, keep["id"], me["id"])
    others = await all_keys(storage)

    project = await new_project(client, "Delete me")
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "chelsea.jpg"))
    await finish_clips(db, storage, project["id"])
    old = await finish_render(db, storage, project["id"], me["id"])
    failed = await finish_render(db, storage, project["id"], me["id"], status=m.RenderStatus.FAILED)
    latest = await finish_render(db, storage, project["id"], me["id"])
    doomed = await all_keys(storage) - others
    assert {old.video_key, old.poster_key, failed.poster_key, latest.video_key} <= doomed
    assert len(doomed) == 4 + 4 + 6

    assert (await client.delete(f"/api/projects/{project['id']}")).status_code == 204

    remaining = await all_keys(storage)
    assert not doomed & remaining
    assert others <= remaining
    renders = await sql(database_url, "SELECT count(*) AS n FROM renders WHERE project_id = $1", uuid.UUID(project["id"]))
    assert renders[0]["n"] == 0
    assert (await client.get(f"/api/projects/{keep['id']}")).status_code == 200
