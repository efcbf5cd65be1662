"""The free try through the HTTP API with a real worker, Postgres, Redis and ffmpeg."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from assembly.probe import probe
from tests.conftest import make_settings
from tests.integration.conftest import wait_until
from tests.paths import PHOTOS


def _upload(name: str) -> dict[str, Any]:
    path = PHOTOS / name
    return {"photo": (name, path.read_bytes(), "application/octet-stream")}


def _stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.media_dir.rglob("*") if p.is_file()]


async def _wait_done(client: AsyncTestClient[Any], clip_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = (await client.get(f"/api/try/{clip_id}")).json()
        return body if body["status"] in ("succeeded", "failed") else None

    return await wait_until(done, timeout=120)


async def test_free_try_makes_a_watermarked_clip_with_intro(
    client: AsyncTestClient[Any], worker: Any, settings: Settings, tmp_path: Path
) -> None:
    response = await client.post("/api/try", files=_upload("chelsea.jpg"))
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "queued"
    assert created["watermarked"] is True
    assert "echoes_visitor" in response.cookies

    body = await _wait_done(client, created["id"])
    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0
    assert body["provider"] == "local"
    assert body["videoUrl"].startswith("/media/clips/") and "sig=" in body["videoUrl"]

    video = await client.get(body["videoUrl"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    out = tmp_path / "clip.mp4"
    out.write_bytes(video.content)
    info = probe(out)
    assert info.video is not None and info.video.codec == "h264"
    assert (info.video.width, info.video.height) == (1280, 720)
    assert info.video.fps == pytest.approx(24.0)
    assert abs(info.duration - 5.5) <= 1 / 24 + 1e-6

    poster = await client.get(body["posterUrl"])
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"


async def test_media_range_requests_return_partial_content(
    client: AsyncTestClient[Any], worker: Any
) -> None:
    created = (await client.post("/api/try", files=_upload("coffee.jpg"))).json()
    body = await _wait_done(client, created["id"])
    full = await client.get(body["videoUrl"])
    part = await client.get(body["videoUrl"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(full.content)}"
    assert part.content == full.content[100:200]
    tail = await client.get(body["videoUrl"], headers={"Range": "bytes=-10"})
    assert tail.content == full.content[-10:]
    beyond = await client.get(body["videoUrl"], headers={"Range": f"bytes={len(full.content)}-"})
    assert beyond.status_code == 416


async def test_tampered_or_expired_media_urls_are_refused(client: AsyncTestClient[Any], worker: Any) -> None:
    created = (await client.post("/api/try", files=_upload("rocket.jpg"))).json()
    body = await _wait_done(client, created["id"])
    url: str = body["videoUrl"]
    tampered = url.replace("sig=", "sig=A")
    assert (await client.get(tampered)).status_code == 403
    other_key = url.replace("clip.mp4", "poster.jpg")
    assert (await client.get(other_key)).status_code == 403
    path, _, query = url.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&"))
    params["exp"] = str(int(params["exp"]) + 3600)
    assert (await client.get(path, params=params)).status_code == 403
    no_sig = await client.get(path)
    assert no_sig.status_code == 403
    assert no_sig.json()["code"] == "FORBIDDEN"


async def test_expired_media_url_is_refused(settings: Settings, client: AsyncTestClient[Any]) -> None:
    from api.security.keys import Keys, as_text
    from api.storage import LocalStorage, MediaSigner

    storage = LocalStorage(settings.media_dir)
    await storage.put_bytes("clips/expiredtest/poster.jpg", b"\xff\xd8\xff")
    signer = MediaSigner(as_text(Keys.derive(settings.secret_key).media_url))
    assert (await client.get(signer.url("clips/expiredtest/poster.jpg", ttl=60))).status_code == 200
    stale = signer.url("clips/expiredtest/poster.jpg", ttl=60, now=0)
    assert (await client.get(stale)).status_code == 403
    await storage.delete("clips/expiredtest/poster.jpg")


async def test_another_visitors_clip_answers_404(client: AsyncTestClient[Any], settings: Settings) -> None:
    created = (await client.post("/api/try", files=_upload("astronaut.jpg"))).json()
    assert (await client.get(f"/api/try/{created['id']}")).status_code == 200
    client.cookies.clear()
    stranger = await client.get(f"/api/try/{created['id']}")
    assert stranger.status_code == 404
    assert stranger.json()["code"] == "NOT_FOUND"
    forged = await client.get(
        f"/api/try/{created['id']}", cookies={"echoes_visitor": f"{uuid.uuid4().hex}.forged"}
    )
    assert forged.status_code == 404
    assert (await client.get(f"/api/try/{uuid.uuid4()}")).status_code == 404


async def test_second_free_try_from_same_visitor_is_rate_limited(client: AsyncTestClient[Any]) -> None:
    assert (await client.post("/api/try", files=_upload("astronaut.jpg"))).status_code == 202
    again = await client.post("/api/try", files=_upload("coffee.jpg"))
    assert again.status_code == 429
    problem = again.json()
    assert again.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "RATE_LIMITED"
    assert 23 * 3600 < int(again.headers["retry-after"]) <= 24 * 3600
    assert problem["retryAfter"] == int(again.headers["retry-after"])
    assert "free clip" in problem["detail"] and "hours" in problem["detail"]


async def test_per_ip_limit_applies_across_visitors(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> None:
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix,
        var_dir=var_dir, FREE_TRY_PER_IP="2",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        for _ in range(2):
            client.cookies.clear()
            assert (await client.post("/api/try", files=_upload("rocket.jpg"))).status_code == 202
        client.cookies.clear()
        third = await client.post("/api/try", files=_upload("rocket.jpg"))
        assert third.status_code == 429
        assert third.json()["code"] == "RATE_LIMITED"


BAD_FILES = {
    "bad_truncated.jpg": (422, "INVALID_INPUT"),
    "bad_not_an_image.jpg": (415, "UNSUPPORTED_MEDIA"),
    "bad_tiny.jpg": (422, "INVALID_INPUT"),
    "bad_animated.gif": (415, "UNSUPPORTED_MEDIA"),
    "bad_script.svg": (415, "UNSUPPORTED_MEDIA"),
    "bad_bomb_40000x40000.png": (422, "INVALID_INPUT"),
}


@pytest.mark.parametrize(("name", "expected"), BAD_FILES.items())
async def test_bad_upload_is_refused_and_nothing_is_stored(
    client: AsyncTestClient[Any], settings: Settings, name: str, expected: tuple[int, str]
) -> None:
    before = _stored_files(settings)
    response = await client.post("/api/try", files=_upload(name))
    assert (response.status_code, response.json()["code"]) == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(response.json()["detail"]) > 20
    assert _stored_files(settings) == before
    # A refused upload does not use up the free try.
    assert (await client.post("/api/try", files=_upload("chelsea.jpg"))).status_code == 202


async def test_oversized_upload_is_refused_while_streaming(client: AsyncTestClient[Any], settings: Settings) -> None:
    before = _stored_files(settings)
    big = b"\xff\xd8\xff\xe0" + b"\0" * (settings.upload_max_bytes + 512 * 1024)
    response = await client.post("/api/try", files={"photo": ("big.jpg", big, "image/jpeg")})
    assert response.status_code == 413
    assert response.json()["code"] == "UPLOAD_TOO_LARGE"
    assert _stored_files(settings) == before


async def test_missing_photo_field_is_a_clear_400(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/try", files={"picture": ("a.jpg", b"x", "image/jpeg")})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
