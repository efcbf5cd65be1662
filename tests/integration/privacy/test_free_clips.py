"""A claimed free clip belongs to the account: listed under it, opened from any device the
person logs in on, closed to the browser's visitor cookie, kept while the account lives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from tests.integration.helpers import PASSWORD, sign_up, sql, with_csrf
from tests.paths import PHOTOS
from worker.context import WorkerResources
from worker.jobs.clips import expire_free_tries


async def _free_try(client: AsyncTestClient[Any]) -> str:
    response = await client.post(
        "/api/try", files={"photo": ("chelsea.jpg", (PHOTOS / "chelsea.jpg").read_bytes(), "image/jpeg")}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_a_claimed_free_clip_follows_the_account_and_leaves_the_browser(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    clip_id = await _free_try(client)
    signed_up = await sign_up(client)
    assert signed_up["claimedClipIds"] == [clip_id]
    email = signed_up["user"]["email"]

    listed = (await client.get("/api/me/free-clips")).json()["items"]
    assert [c["id"] for c in listed] == [clip_id] and listed[0]["watermarked"] is True
    assert (await client.get(f"/api/try/{clip_id}")).status_code == 200

    async with AsyncTestClient(app=create_app(settings)) as phone:
        assert (await phone.get(f"/api/try/{clip_id}")).status_code == 404
        await with_csrf(phone)
        assert (await phone.post("/api/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
        assert (await phone.get(f"/api/try/{clip_id}")).json()["id"] == clip_id
        assert [c["id"] for c in (await phone.get("/api/me/free-clips")).json()["items"]] == [clip_id]

    assert (await client.post("/api/auth/logout")).status_code == 204
    logged_out = await client.get(f"/api/try/{clip_id}")
    assert logged_out.status_code == 404 and "videoUrl" not in logged_out.text

    await sign_up(client)
    second_account = await client.get(f"/api/try/{clip_id}")
    assert second_account.status_code == 404
    assert (await client.get("/api/me/free-clips")).json()["items"] == []


async def test_an_unclaimed_free_clip_still_answers_its_browser_only(client: AsyncTestClient[Any], settings: Settings) -> None:
    clip_id = await _free_try(client)
    assert (await client.get(f"/api/try/{clip_id}")).status_code == 200
    async with AsyncTestClient(app=create_app(settings)) as stranger:
        await sign_up(stranger)
        assert (await stranger.get(f"/api/try/{clip_id}")).status_code == 404


async def test_claimed_free_clips_outlive_the_free_try_window_and_unclaimed_ones_do_not(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    claimed = await _free_try(client)
    await sign_up(client)
    async with AsyncTestClient(app=create_app(settings)) as visitor:
        unclaimed = await _free_try(visitor)
    old = datetime.now(UTC) - timedelta(hours=settings.free_try_window_hours + 1)
    await sql(database_url, "UPDATE clips SET created_at = $1", old)

    resources = await WorkerResources.open(settings)
    try:
        await expire_free_tries({"resources": resources})
    finally:
        await resources.close()

    remaining = {str(r["id"]) for r in await sql(database_url, "SELECT id FROM clips")}
    assert remaining == {claimed}
    assert unclaimed not in remaining
    assert (await client.get(f"/api/try/{claimed}")).status_code == 200
