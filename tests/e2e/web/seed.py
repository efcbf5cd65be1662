"""An account with something in it, made through the HTTP API (the browser is for the pages).

Used by the page-by-page checks (accessibility, screenshots), which need a signed-in person
with credits, a project whose clips are ready, and a finished, shared video, without paying
for the whole journey in the browser again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.paths import PHOTOS

POLL_SECONDS = 0.5
WAIT_SECONDS = 150


@dataclass(frozen=True)
class SeededAccount:
    email: str
    password: str
    cookies: dict[str, str]
    project_id: str
    render_id: str
    share_slug: str


async def _until(
    client: httpx.AsyncClient, path: str, done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS)):
        response = await client.get(path)
        response.raise_for_status()
        body = response.json()
        if done(body):
            return body
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{what} did not finish in {WAIT_SECONDS} s: {body}")


async def seed_account(web_url: str) -> SeededAccount:
    """Signs up, buys the starter pack on the demo checkout, makes a two-clip project with
    music, renders it and shares the video — all through the web app's `/api` proxy."""
    email = f"seed-{uuid.uuid4().hex[:10]}@example.com"
    password = "a long enough password"
    async with httpx.AsyncClient(base_url=web_url, timeout=60) as client:
        token = (await client.get("/api/auth/csrf")).json()["token"]
        client.headers["x-csrf-token"] = token
        signup = await client.post(
            "/api/auth/signup",
            json={"email": email, "password": password, "displayName": "Iris Calder"},
        )
        assert signup.status_code == 201, signup.text

        checkout = await client.post("/api/credits/checkout", json={"pack": "starter"})
        assert checkout.status_code == 201, checkout.text
        paid = await client.post(
            checkout.json()["url"], data={"_csrf_token": token, "action": "pay"}
        )
        assert paid.status_code == 303, paid.text

        project = (
            await client.post(
                "/api/projects", json={"title": "Summer at the lake", "aspect": "16:9"}
            )
        ).json()
        project_id = project["id"]
        files = [
            ("photos", (name, (PHOTOS / name).read_bytes(), "image/jpeg"))
            for name in ("hubble.jpg", "chelsea.jpg")
        ]
        uploaded = await client.post(f"/api/projects/{project_id}/photos", files=files)
        assert uploaded.status_code == 200 and uploaded.json()["accepted"] == 2, uploaded.text
        generated = await client.post(f"/api/projects/{project_id}/generate")
        assert generated.status_code == 202, generated.text
        await _until(
            client,
            f"/api/projects/{project_id}",
            lambda p: all(c["status"] == "succeeded" for c in p["clips"]),
            "the clips",
        )

        tracks = (await client.get("/api/music")).json()["tracks"]
        music = await client.put(
            f"/api/projects/{project_id}/music",
            json={"trackId": tracks[0]["id"], "startOffset": 0, "volume": 0.8, "beatSync": False},
        )
        assert music.status_code == 200, music.text
        render = await client.post(f"/api/projects/{project_id}/render")
        assert render.status_code == 202, render.text
        render_id = render.json()["id"]
        finished = await _until(
            client,
            f"/api/renders/{render_id}",
            lambda r: r["status"] in ("succeeded", "failed"),
            "the render",
        )
        assert finished["status"] == "succeeded", finished
        shared = await client.post(f"/api/renders/{render_id}/share")
        assert shared.status_code == 200, shared.text
        cookies = {name: value for name, value in client.cookies.items()}
    return SeededAccount(email, password, cookies, project_id, render_id, shared.json()["slug"])
