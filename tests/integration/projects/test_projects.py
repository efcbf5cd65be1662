"""Projects through the HTTP API: ownership, uploads, batch generation and editing."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.helpers import sign_up, sql, verify_email
from tests.integration.projects.conftest import (
    give_credits,
    new_project,
    photo_files,
    wait_clips_settled,
)


async def test_create_list_get_rename_and_delete_a_project(client: AsyncTestClient[Any], settings: Any) -> None:
    await sign_up(client)
    project = await new_project(client, "  Summer   1987 ", "9:16")
    assert project["title"] == "Summer 1987" and project["aspect"] == "9:16" and project["clips"] == []
    assert project["freeRegenerationsLeft"] == 3 and project["maxClips"] == 40
    listing = (await client.get("/api/projects")).json()["items"]
    assert [p["id"] for p in listing] == [project["id"]]
    renamed = await client.patch(f"/api/projects/{project['id']}", json={"title": "Summer '87"})
    assert renamed.json()["title"] == "Summer '87"
    bad = await client.post("/api/projects", json={"title": "x", "aspect": "4:3"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_INPUT"
    before_upload = {p for p in settings.media_dir.rglob("*") if p.is_file()}
    upload = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
    assert upload.status_code == 200
    project_files = {p for p in settings.media_dir.rglob("*") if p.is_file()} - before_upload
    assert len(project_files) == 2  # the photo and its thumbnail
    assert (await client.delete(f"/api/projects/{project['id']}")).status_code == 204
    assert (await client.get(f"/api/projects/{project['id']}")).status_code == 404
    assert [p for p in project_files if p.exists()] == []


async def test_upload_reports_each_file_and_a_bad_file_does_not_spoil_the_rest(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client)
    project = await new_project(client)
    response = await client.post(
        f"/api/projects/{project['id']}/photos",
        files=photo_files("astronaut.jpg", "bad_script.svg", "iphone.heic", "bad_tiny.jpg", "coffee_alpha.png"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["refused"], body["clipCount"]) == (3, 2, 3)
    assert [o["ok"] for o in body["outcomes"]] == [True, False, True, False, True]
    assert body["outcomes"][1]["error"]["code"] == "UNSUPPORTED_MEDIA"
    assert body["outcomes"][3]["error"]["code"] == "INVALID_INPUT"
    clips = (await client.get(f"/api/projects/{project['id']}")).json()["clips"]
    assert [c["position"] for c in clips] == [0, 1, 2]
    assert all(c["status"] == "draft" and c["photo"]["thumbnailUrl"].startswith("/media/") for c in clips)
    thumb = await client.get(clips[0]["photo"]["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    empty = await client.post(f"/api/projects/{project['id']}/photos", files={"other": ("a.jpg", b"x", "image/jpeg")})
    assert empty.status_code == 422


async def test_a_project_holds_at_most_forty_photos(client: AsyncTestClient[Any], database_url: str) -> None:
    await sign_up(client)
    project = await new_project(client)
    first = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files(*["rocket.jpg"] * 38))
    assert first.json()["accepted"] == 38
    more = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "chelsea.jpg", "hubble.jpg"))
    body = more.json()
    assert (body["accepted"], body["refused"], body["clipCount"]) == (2, 1, 40)
    assert body["outcomes"][2]["error"]["code"] == "PROJECT_FULL"


async def test_generation_needs_credits_for_the_whole_batch(client: AsyncTestClient[Any], database_url: str) -> None:
    me = (await sign_up(client))["user"]
    await verify_email(database_url, me["id"])
    project = await new_project(client)
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "chelsea.jpg", "rocket.jpg"))
    refused = await client.post(f"/api/projects/{project['id']}/generate")
    assert refused.status_code == 402
    problem = refused.json()
    assert problem["code"] == "INSUFFICIENT_CREDITS"
    assert (problem["required"], problem["balance"], problem["missing"]) == (3, 1, 2)
    assert "Buy 2 credits" in problem["detail"]
    clips = (await client.get(f"/api/projects/{project['id']}")).json()["clips"]
    assert {c["status"] for c in clips} == {"draft"}
    rows = await sql(database_url, "SELECT count(*) AS n FROM credit_transactions WHERE kind = 'generation'")
    assert rows[0]["n"] == 0
    assert (await client.get("/api/me")).json()["creditBalance"] == 1
    await give_credits(client, database_url, me, 2)
    accepted = await client.post(f"/api/projects/{project['id']}/generate")
    assert accepted.status_code == 202
    assert (accepted.json()["queued"], accepted.json()["balance"]) == (3, 0)


async def test_generate_edit_regenerate_and_reorder_with_a_real_worker(
    client: AsyncTestClient[Any], worker: Any, database_url: str
) -> None:
    me = (await sign_up(client))["user"]
    await verify_email(database_url, me["id"])
    await give_credits(client, database_url, me, 9)
    project = await new_project(client, aspect="1:1")
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg", "rocket.jpg"))
    clips = (await client.get(f"/api/projects/{project['id']}")).json()["clips"]
    bad_prompt = await client.patch(
        f"/api/projects/{project['id']}/clips/{clips[0]['id']}", json={"prompt": "make it gory"}
    )
    assert bad_prompt.status_code == 422 and bad_prompt.json()["field"] == "prompt"
    too_long = await client.patch(f"/api/projects/{project['id']}/clips/{clips[0]['id']}", json={"prompt": "a" * 501})
    assert too_long.status_code == 422
    ok_prompt = await client.patch(
        f"/api/projects/{project['id']}/clips/{clips[0]['id']}", json={"prompt": " steam rises   slowly "}
    )
    assert ok_prompt.json()["prompt"] == "steam rises slowly"

    assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202
    busy = await client.post(f"/api/projects/{project['id']}/clips/{clips[0]['id']}/regenerate", json={})
    assert busy.status_code == 409 and busy.json()["code"] == "CLIP_BUSY"
    body = await wait_clips_settled(client, project["id"])
    assert [c["status"] for c in body["clips"]] == ["succeeded", "succeeded"]
    assert all(c["watermarked"] is False and c["videoUrl"] and c["posterUrl"] for c in body["clips"])
    assert (await client.get("/api/me")).json()["creditBalance"] == 10 - 2

    spent = []
    for _ in range(4):
        r = await client.post(f"/api/projects/{project['id']}/clips/{clips[1]['id']}/regenerate", json={})
        assert r.status_code == 202, r.text
        spent.append((r.json()["creditsSpent"], r.json()["freeRegenerationsLeft"]))
        await wait_clips_settled(client, project["id"])
    assert spent == [(0, 2), (0, 1), (0, 0), (1, 0)]
    assert (await client.get("/api/me")).json()["creditBalance"] == 10 - 2 - 1

    order = [clips[1]["id"], clips[0]["id"]]
    reordered = await client.put(f"/api/projects/{project['id']}/order", json={"clipIds": order})
    assert [c["id"] for c in reordered.json()["clips"]] == order
    for wrong in ([clips[0]["id"]], [clips[0]["id"], clips[0]["id"]], [clips[0]["id"], str(uuid.uuid4())]):
        r = await client.put(f"/api/projects/{project['id']}/order", json={"clipIds": wrong})
        assert r.status_code == 422 and r.json()["code"] == "INVALID_INPUT"

    assert (await client.delete(f"/api/projects/{project['id']}/clips/{clips[1]['id']}")).status_code == 204
    remaining = (await client.get(f"/api/projects/{project['id']}")).json()["clips"]
    assert [(c["id"], c["position"]) for c in remaining] == [(clips[0]["id"], 0)]


async def test_another_users_projects_and_clips_answer_404(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    project = await new_project(client)
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
    clip_id = (await client.get(f"/api/projects/{project['id']}")).json()["clips"][0]["id"]
    await client.post("/api/auth/logout")
    client.cookies.clear()
    await sign_up(client)
    base = f"/api/projects/{project['id']}"
    attempts = [
        await client.get(base),
        await client.patch(base, json={"title": "mine now"}),
        await client.delete(base),
        await client.post(f"{base}/photos", files=photo_files("rocket.jpg")),
        await client.post(f"{base}/generate"),
        await client.put(f"{base}/order", json={"clipIds": [clip_id]}),
        await client.patch(f"{base}/clips/{clip_id}", json={"prompt": "hi"}),
        await client.post(f"{base}/clips/{clip_id}/regenerate", json={}),
        await client.delete(f"{base}/clips/{clip_id}"),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert (await client.get("/api/projects")).json()["items"] == []
