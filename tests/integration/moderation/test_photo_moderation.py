"""Photos are moderated at intake: a refused photo answers CONTENT_REFUSED, costs nothing
and leaves nothing stored. A threshold of 0 makes the real classifier refuse any photo."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import MediaSafety, Settings
from tests.integration.helpers import sign_up, sql
from tests.integration.projects.conftest import give_credits, new_project, photo_files
from tests.paths import PHOTOS


@pytest.fixture
async def strict_client(settings: Settings, clean_db: None) -> AsyncIterator[AsyncTestClient[Any]]:
    strict = dataclasses.replace(settings, media_safety=MediaSafety(photo_nsfw_threshold=0.0))
    async with AsyncTestClient(app=create_app(strict)) as client:
        yield client


def _stored(settings: Settings) -> set[Path]:
    return {p for p in settings.media_dir.rglob("*") if p.is_file()}


async def test_free_try_photo_over_the_threshold_is_refused_and_nothing_is_stored(
    strict_client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    before = _stored(settings)
    response = await strict_client.post(
        "/api/try", files={"photo": ("chelsea.jpg", (PHOTOS / "chelsea.jpg").read_bytes(), "image/jpeg")}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "CONTENT_REFUSED"
    assert "choose another photo" in response.json()["detail"]
    assert _stored(settings) == before
    assert (await sql(database_url, "SELECT count(*) AS n FROM photos"))[0]["n"] == 0
    assert (await sql(database_url, "SELECT count(*) AS n FROM clips"))[0]["n"] == 0


async def test_project_photo_over_the_threshold_is_refused_without_spending_credits(
    strict_client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    user = (await sign_up(strict_client))["user"]
    await give_credits(strict_client, database_url, user, 3)
    balance = (await strict_client.get("/api/me")).json()["creditBalance"]
    project = await new_project(strict_client)
    before = _stored(settings)
    response = await strict_client.post(
        f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["refused"], body["clipCount"]) == (0, 2, 0)
    assert {o["error"]["code"] for o in body["outcomes"]} == {"CONTENT_REFUSED"}
    assert _stored(settings) == before
    assert (await sql(database_url, "SELECT count(*) AS n FROM photos"))[0]["n"] == 0
    assert (await strict_client.get("/api/me")).json()["creditBalance"] == balance


async def test_fixture_photos_pass_moderation_at_the_default_threshold(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client)
    project = await new_project(client)
    names = sorted(p.name for p in PHOTOS.iterdir() if not p.name.startswith("bad_"))
    response = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files(*names))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(names), response.json()["outcomes"]
