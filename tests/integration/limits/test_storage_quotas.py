"""Per-account storage quotas: an upload that would not fit is refused with 413
``STORAGE_QUOTA_EXCEEDED`` before anything is stored."""

from __future__ import annotations

import uuid
from typing import Any

from api.config import Settings
from api.storage import LocalStorage
from tests.integration.helpers import sign_up, sql
from tests.integration.limits.conftest import LimitedApp
from tests.integration.projects.conftest import new_project, photo_files
from tests.paths import PHOTOS


async def _stored_keys(settings: Settings, prefix: str) -> set[str]:
    return {key async for key in LocalStorage(settings.media_dir).list_keys(prefix)}


def _assert_quota_problem(problem: dict[str, Any], quota: int) -> None:
    assert problem["code"] == "STORAGE_QUOTA_EXCEEDED"
    assert problem["status"] == 413
    assert problem["quotaBytes"] == quota
    assert "make room" in problem["detail"]


async def test_photo_upload_past_the_quota_is_refused_and_nothing_is_stored(limited_app: LimitedApp) -> None:
    one_photo = (PHOTOS / "coffee.jpg").stat().st_size
    quota = one_photo + one_photo // 2
    async with limited_app(STORAGE_QUOTA_PHOTO_BYTES=str(quota)) as limited:
        client = limited.client
        me = (await sign_up(client))["user"]
        project = await new_project(client)
        first = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
        assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
        photos_before = await _stored_keys(limited.settings, "photos/")
        rows_before = await sql(limited.settings.database_url, "SELECT id FROM photos WHERE user_id = $1", uuid.UUID(me["id"]))

        refused = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))

        assert refused.status_code == 413, refused.text
        _assert_quota_problem(refused.json(), quota)
        assert refused.json()["usedBytes"] > 0
        assert await _stored_keys(limited.settings, "photos/") == photos_before
        rows_after = await sql(limited.settings.database_url, "SELECT id FROM photos WHERE user_id = $1", uuid.UUID(me["id"]))
        assert rows_after == rows_before
        clips = (await client.get(f"/api/projects/{project['id']}")).json()["clips"]
        assert len(clips) == 1


async def test_quota_is_per_account(limited_app: LimitedApp) -> None:
    one_photo = (PHOTOS / "coffee.jpg").stat().st_size
    async with limited_app(STORAGE_QUOTA_PHOTO_BYTES=str(one_photo + one_photo // 2)) as limited:
        client = limited.client
        for _ in range(2):
            client.cookies.clear()
            await sign_up(client)
            project = await new_project(client)
            upload = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
            assert upload.status_code == 200 and upload.json()["accepted"] == 1


async def test_music_upload_past_the_quota_is_refused_and_nothing_is_stored(limited_app: LimitedApp) -> None:
    async with limited_app(STORAGE_QUOTA_MUSIC_BYTES="4096") as limited:
        client = limited.client
        me = (await sign_up(client))["user"]
        music_before = await _stored_keys(limited.settings, "music")

        refused = await client.post(
            "/api/music", files={"track": ("song.mp3", b"\xff\xfb" * 4096, "audio/mpeg")}
        )

        assert refused.status_code == 413, refused.text
        _assert_quota_problem(refused.json(), 4096)
        assert refused.json()["uploadBytes"] == 8192
        assert await _stored_keys(limited.settings, "music") == music_before
        rows = await sql(limited.settings.database_url, "SELECT id FROM music_tracks WHERE user_id = $1", uuid.UUID(me["id"]))
        assert rows == []
