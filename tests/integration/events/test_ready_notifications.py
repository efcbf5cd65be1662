"""A clip or a video finishing reaches an open page (SSE) and a subscribed device (push),
with the real API, worker, Postgres, Redis and ffmpeg."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.push_service import PushServiceFake
from tests.integration.conftest import running_worker, wait_until
from tests.integration.events.conftest import ApiServer, signed_up
from tests.integration.events.sse_client import EventStream, open_events
from tests.integration.helpers import make_admin
from tests.integration.projects.conftest import photo_files
from worker.context import WorkerResources


@pytest.fixture
async def server_worker(api_server: ApiServer) -> AsyncIterator[WorkerResources]:
    async with running_worker(api_server.settings) as resources:
        yield resources


async def _until(stream: EventStream, name: str, **match: Any) -> dict[str, Any]:
    while True:
        message = await stream.next_event()
        if message.event == name:
            data = message.json()
            if all(data.get(k) == v for k, v in match.items()):
                return data


async def test_clip_and_video_ready_reach_the_page_and_the_device(
    api_server: ApiServer, server_worker: WorkerResources, database_url: str
) -> None:
    client, user_id = await signed_up(api_server)
    with PushServiceFake() as push:
        key = (await client.get("/api/push/key")).json()["publicKey"]
        browser = push.browser(key)
        assert (await client.post("/api/push/subscriptions", json=browser.subscription_json())).status_code == 201
        await make_admin(database_url, str(user_id))
        assert (await client.post(f"/api/admin/users/{user_id}/credits", json={"amount": 1, "reason": "test"})).status_code == 201
        project = (await client.post("/api/projects", json={"title": "Lake house", "aspect": "16:9"})).json()
        await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))

        http = client
        async with open_events(http) as stream:
            stream.timeout = 120
            assert (await http.post(f"/api/projects/{project['id']}/generate")).status_code == 202
            queued = await _until(stream, "clip.status", status="queued")
            clip_id = queued["clipId"]
            credits = await _until(stream, "credits.changed")
            assert credits["delta"] == -1 and credits["kind"] == "generation"
            progress = await _until(stream, "clip.progress", clipId=clip_id)
            assert 0 < progress["progress"] < 1
            done = await _until(stream, "clip.status", clipId=clip_id, status="succeeded")
            assert done["projectId"] == project["id"]

            render = (await http.post(f"/api/projects/{project['id']}/render")).json()
            finished = await _until(stream, "render.status", renderId=render["id"], status="succeeded")
            assert finished["progress"] == 1.0

        titles = await wait_until(lambda: asyncio.sleep(0, pushed_titles(push, browser)), timeout=30)
        assert "1 credit added" in titles
        ready = next(p for p in push.pushes_to(browser) if p.payload["title"] == "Your video is ready")
        assert ready.payload["url"].endswith(project["id"]) or project["id"] in ready.payload["url"]
        assert ready.payload["tag"]
        assert ready.claims["sub"].startswith("mailto:") and ready.encrypted_size <= 4096
    await client.aclose()
    assert uuid.UUID(clip_id)


def pushed_titles(push: PushServiceFake, browser: Any) -> list[str]:
    """Every notice's title, once both the clip and the video notices have arrived."""
    titles = [p.payload.get("title") for p in push.pushes_to(browser)]
    return titles if {"Your clip is ready", "Your video is ready"} <= set(titles) else []
