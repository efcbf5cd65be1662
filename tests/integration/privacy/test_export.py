"""The data export: one ZIP with the person's photos, videos and account.json."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.config import Settings
from api.storage import Storage
from tests.integration.helpers import sign_up, sql
from tests.integration.media import finish_clips, finish_render, own_track, paid_purchase
from tests.integration.projects.conftest import give_credits, new_project, photo_files
from tests.paths import PHOTOS


async def test_export_is_one_zip_with_photos_videos_and_the_account_and_ledger(
    client: AsyncTestClient[Any], settings: Settings, db: async_sessionmaker[AsyncSession], storage: Storage,
    database_url: str,
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as other:
        stranger = (await sign_up(other))["user"]
        their_project = await new_project(other)
        await other.post(f"/api/projects/{their_project['id']}/photos", files=photo_files("astronaut.jpg"))
        await finish_render(db, storage, their_project["id"], stranger["id"])

    free = await client.post(
        "/api/try", files={"photo": ("chelsea.jpg", (PHOTOS / "chelsea.jpg").read_bytes(), "image/jpeg")}
    )
    me = (await sign_up(client, displayName="Grace"))["user"]
    await give_credits(client, database_url, me, 2)
    project = await new_project(client, "Summer 1987")
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg"))
    await finish_clips(db, storage, project["id"])
    render = await finish_render(db, storage, project["id"], me["id"])
    track = await own_track(db, storage, me["id"])
    await paid_purchase(db, me["id"])

    response = await client.get("/api/me/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="echoes-export-')
    assert "content-length" not in response.headers, "the archive is streamed, not built first"

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    document = json.loads(archive.read("account.json"))
    assert document["account"]["email"] == me["email"] and document["account"]["displayName"] == "Grace"
    [exported] = document["projects"]
    assert exported["title"] == "Summer 1987" and len(exported["clips"]) == 2
    [free_clip] = document["freeClips"]
    assert free_clip["id"] == free.json()["id"]
    assert [r["id"] for r in exported["renders"]] == [str(render.id)]
    ledger = await sql(database_url, "SELECT kind, amount FROM credit_transactions WHERE user_id = $1", uuid.UUID(me["id"]))
    assert sorted((e["kind"], e["amount"]) for e in document["ledger"]) == sorted((r["kind"], r["amount"]) for r in ledger)
    assert ("adjustment", 2) in [(e["kind"], e["amount"]) for e in document["ledger"]]
    assert [(p["credits"], p["amountCents"], p["currency"]) for p in document["purchases"]] == [(5, 1500, "usd")]

    expected = {"account.json", f"videos/{render.id}.mp4", f"music/{track.id}.m4a"}
    for clip in [*exported["clips"], free_clip]:
        expected.add(clip["photoFile"])
        if clip["videoFile"]:
            expected.add(clip["videoFile"])
    assert names == expected
    assert len([n for n in names if n.startswith("photos/")]) == 3
    assert len([n for n in names if n.startswith("clips/")]) == 2
    assert archive.read(f"videos/{render.id}.mp4") == await storage.read_bytes(render.video_key or "")
    first = exported["clips"][0]
    assert archive.read(first["photoFile"]).startswith(b"\xff\xd8")
    assert stranger["email"] not in response.content.decode("latin-1")


async def test_export_needs_a_session(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/api/me/export")).status_code == 401
