"""Music uploads: checked and stored raw in the request, transcoded by the ``transcode_music``
job, and never opened by libav as anything but the one local file they are."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api.app import create_app
from api.config import MediaSafety, Settings
from api.domain.music.transcode import TranscodeFailed, Transcoder
from api.events import stream_key, user_owner
from assembly.ffmpeg import ffmpeg_cmd
from tests.fakes._threaded_http import FakeHTTPServer, FakeRequest, Reply
from tests.integration.conftest import running_worker, wait_until
from tests.integration.helpers import sign_up
from tests.integration.projects.conftest import new_project
from worker.context import WorkerResources


class RecordingServer(FakeHTTPServer):
    """Answers anything with a few bytes of MP3; what matters is whether it is asked."""

    def route(self, request: FakeRequest) -> Reply:
        return Reply(200, b"\xff\xfb\x90\x00" * 64, {"Content-Type": "audio/mpeg"})


@pytest.fixture
def web_server() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("music") / "song.mp3"
    subprocess.run(
        ffmpeg_cmd(*"-f lavfi -i sine=frequency=440:duration=6 -c:a libmp3lame".split(), str(path)), check=True
    )
    return path.read_bytes()


def hostile_files(server_url: str) -> dict[str, bytes]:
    """Files that make a guessing demuxer fetch other URLs, each named like an MP3."""
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\n{server_url}/segment.mp3\n#EXTINF:10.0,\n/etc/hostname\n#EXT-X-ENDLIST\n"
    ).encode()
    return {
        "hls-playlist.mp3": playlist,
        "ffconcat.mp3": f"ffconcat version 1.0\nfile '{server_url}/part.mp3'\nfile '/etc/passwd'\n".encode(),
        "passwd-reference.mp3": (
            b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
        ),
        # Starts like an MP3 (an ID3 tag), so the sniff lets it through to the probe, which
        # opens it as MP3 only: the playlist after the tag is never read as a playlist.
        "id3-then-playlist.mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00" + playlist,
    }


@asynccontextmanager
async def _running_worker(settings: Settings) -> AsyncIterator[WorkerResources]:
    async with running_worker(settings) as resources:
        yield resources


@pytest.fixture
async def tiny_output_settings(settings: Settings, clean_db: None) -> Settings:
    return dataclasses.replace(settings, media_safety=MediaSafety(music_max_output_bytes=2000))


async def _own_tracks(client: AsyncTestClient[Any]) -> list[dict[str, Any]]:
    return [t for t in (await client.get("/api/music")).json()["tracks"] if not t["builtin"]]


async def _settled(client: AsyncTestClient[Any]) -> list[dict[str, Any]] | None:
    own = await _own_tracks(client)
    return own if own and all(t["status"] != "processing" for t in own) else None


async def test_an_upload_answers_processing_and_the_job_makes_it_ready(
    client: AsyncTestClient[Any], worker: WorkerResources, settings: Settings, song: bytes
) -> None:
    user = (await sign_up(client))["user"]
    response = await client.post("/api/music", files={"track": ("Our song.mp3", song, "audio/mpeg")})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["url"], created["title"]) == ("processing", None, "Our song")
    assert created["durationSeconds"] == pytest.approx(6, abs=0.2)

    (track,) = await wait_until(lambda: _settled(client), timeout=60)
    assert track["status"] == "ready" and track["failure"] is None
    stored = await client.get(track["url"])
    assert stored.status_code == 200 and stored.headers["content-type"] == "audio/mp4"
    assert not any("music-uploads" in str(p) for p in settings.media_dir.rglob("*") if p.is_file())

    redis = Redis.from_url(settings.redis_url)
    try:
        entries = await redis.xrange(stream_key(user_owner(user["id"]), prefix=settings.queue_prefix))
    finally:
        await redis.aclose()
    assert any(fields[b"type"] == b"music.status" and b'"ready"' in fields[b"data"] for _, fields in entries)


async def test_a_transcode_over_the_size_cap_fails_the_track_with_a_message(
    tiny_output_settings: Settings, song: bytes
) -> None:
    async with AsyncTestClient(app=create_app(tiny_output_settings)) as client:
        async with _running_worker(tiny_output_settings):
            await sign_up(client)
            assert (await client.post("/api/music", files={"track": ("big.mp3", song, "audio/mpeg")})).status_code == 201
            (track,) = await wait_until(lambda: _settled(client), timeout=60)
    assert track["status"] == "failed" and track["url"] is None
    assert "too large" in track["failure"]


async def test_playlists_and_concat_scripts_named_mp3_are_refused_and_nothing_is_fetched(
    client: AsyncTestClient[Any], settings: Settings, web_server: RecordingServer
) -> None:
    await sign_up(client)
    before = {p for p in settings.media_dir.rglob("*") if p.is_file()}
    for name, data in hostile_files(web_server.url).items():
        response = await client.post("/api/music", files={"track": (name, data, "audio/mpeg")})
        assert response.status_code == 415, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "UNSUPPORTED_MEDIA"
        assert "isn't music we can read" in response.json()["detail"]
    assert web_server.requests == []
    assert {p for p in settings.media_dir.rglob("*") if p.is_file()} == before
    assert await _own_tracks(client) == []


async def test_the_job_refuses_a_hostile_file_even_if_it_reached_storage(
    web_server: RecordingServer, tmp_path: Path
) -> None:
    """Defence in depth: the job sniffs and probes again with the same rules."""
    transcoder = Transcoder(MediaSafety())
    for name, data in hostile_files(web_server.url).items():
        source = tmp_path / name
        source.write_bytes(data)
        with pytest.raises(TranscodeFailed):
            await transcoder.transcode(source, tmp_path / f"{name}.m4a")
        assert not (tmp_path / f"{name}.m4a").exists()
    assert web_server.requests == []


async def test_a_track_still_processing_cannot_be_set_to_a_video(client: AsyncTestClient[Any], song: bytes) -> None:
    await sign_up(client)
    track = (await client.post("/api/music", files={"track": ("wait.mp3", song, "audio/mpeg")})).json()
    project = await new_project(client)
    response = await client.put(
        f"/api/projects/{project['id']}/music",
        json={"trackId": track["id"], "startOffset": 0, "volume": 1, "beatSync": False},
    )
    assert response.status_code == 422, response.text
    assert "still being prepared" in response.json()["detail"]
