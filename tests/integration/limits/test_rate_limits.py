"""Each costly action is limited per account (or per client network when anonymous): past
the limit it answers 429 ``RATE_LIMITED`` with ``Retry-After`` and says when to retry."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.config import RateLimits
from api.ratelimit import RULES, Action
from tests.integration.helpers import sign_up
from tests.integration.limits.conftest import LimitedApp
from tests.integration.projects.conftest import new_project, photo_files
from tests.paths import PHOTOS

Call = Callable[[AsyncTestClient[Any], dict[str, Any]], Awaitable[httpx.Response]]


async def _create_project(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/projects", json={"title": "Summer", "aspect": "16:9"})


async def _upload_photo(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))


async def _generate(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/projects/{project['id']}/generate")


async def _regenerate(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/projects/{project['id']}/clips/{uuid.uuid4()}/regenerate", json={})


async def _render(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/projects/{project['id']}/render")


async def _upload_music(client: AsyncTestClient[Any], project: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/music", files={"track": ("song.mp3", b"not really music" * 64, "audio/mpeg")})


# (rule, its setting's environment variable, the call): the routes each rule guards.
CASES: list[tuple[Action, str, Call]] = [
    (Action.CREATE_PROJECT, "RATE_LIMIT_CREATE_PROJECT_PER_HOUR", _create_project),
    (Action.UPLOAD_PHOTO, "RATE_LIMIT_UPLOAD_PHOTO_PER_HOUR", _upload_photo),
    (Action.GENERATE_CLIPS, "RATE_LIMIT_GENERATE_CLIPS_PER_HOUR", _generate),
    (Action.REGENERATE_CLIP, "RATE_LIMIT_REGENERATE_CLIP_PER_HOUR", _regenerate),
    (Action.RENDER_VIDEO, "RATE_LIMIT_RENDER_VIDEO_PER_HOUR", _render),
    (Action.UPLOAD_MUSIC, "RATE_LIMIT_UPLOAD_MUSIC_PER_HOUR", _upload_music),
]


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "RATE_LIMITED"
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 3600
    assert problem["retryAfter"] == retry_after
    assert "in about" in problem["detail"] or "in a minute or two" in problem["detail"], problem["detail"]


def test_every_limited_action_has_a_rule_and_a_setting() -> None:
    assert set(RULES) == set(Action)
    defaults = RateLimits()
    for action in Action:
        assert RULES[action].limit(defaults) >= 1
    assert {env for _, env, _ in CASES} | {"RATE_LIMIT_START_FREE_TRY_PER_HOUR"} == {
        f"RATE_LIMIT_{name.upper()}" for name in RateLimits.__dataclass_fields__
    }


@pytest.mark.parametrize(("action", "env", "call"), CASES, ids=[a.value for a, _, _ in CASES])
async def test_action_is_refused_with_retry_after_past_its_limit_per_account(
    limited_app: LimitedApp, action: Action, env: str, call: Call
) -> None:
    async with limited_app(**{env: "2"}) as limited:
        client = limited.client
        await sign_up(client)
        project = await new_project(client) if action is not Action.CREATE_PROJECT else {}
        for _ in range(2):
            assert (await call(client, project)).status_code != 429
        _assert_rate_limited(await call(client, project))

        # The limit is the account's: someone else is not held back by it.
        client.cookies.clear()
        await sign_up(client)
        other_project = await new_project(client) if action is not Action.CREATE_PROJECT else {}
        assert (await call(client, other_project)).status_code != 429


async def test_photo_uploads_count_each_photo(limited_app: LimitedApp) -> None:
    async with limited_app(RATE_LIMIT_UPLOAD_PHOTO_PER_HOUR="3") as limited:
        client = limited.client
        await sign_up(client)
        project = await new_project(client)
        two = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg"))
        assert two.status_code == 200 and two.json()["accepted"] == 2
        _assert_rate_limited(
            await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg"))
        )


async def test_free_tries_are_limited_per_client_network(limited_app: LimitedApp) -> None:
    async with limited_app(RATE_LIMIT_START_FREE_TRY_PER_HOUR="2") as limited:
        client = limited.client
        photo = {"photo": ("coffee.jpg", (PHOTOS / "coffee.jpg").read_bytes(), "image/jpeg")}
        for _ in range(2):
            client.cookies.clear()
            assert (await client.post("/api/try", files=photo)).status_code == 202
        client.cookies.clear()
        refused = await client.post("/api/try", files=photo)
        _assert_rate_limited(refused)
        assert "network" in refused.json()["detail"]
