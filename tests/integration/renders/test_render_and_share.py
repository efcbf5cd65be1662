"""Music, rendering a project, downloading and sharing — through the HTTP API with a real
worker and real ffmpeg."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from litestar.testing import AsyncTestClient

from api.config import Settings
from assembly.ffmpeg import ffmpeg_cmd
from assembly.musicgen.library import load_library
from assembly.probe import probe
from tests.integration.conftest import wait_until
from tests.integration.helpers import sign_up, sql
from tests.integration.projects.conftest import give_credits, new_project, photo_files


async def _project_with_clips(
    client: AsyncTestClient[Any], database_url: str, names: tuple[str, ...], title: str = "Grandma's 80th — garden"
) -> dict[str, Any]:
    me = (await sign_up(client))["user"]
    await give_credits(client, database_url, me, len(names))
    project = await new_project(client, title)
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files(*names))
    assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202

    async def ready() -> dict[str, Any] | None:
        body = (await client.get(f"/api/projects/{project['id']}")).json()
        return body if all(c["status"] == "succeeded" for c in body["clips"]) else None

    return await wait_until(ready, timeout=240, interval=0.3)


async def _wait_render(client: AsyncTestClient[Any], render_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = (await client.get(f"/api/renders/{render_id}")).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return await wait_until(done, timeout=240, interval=0.3)


def _rms_db(path: Path, start: float, end: float) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = []
        for frame in container.decode(stream):
            if frame.time is not None and start <= frame.time <= end:
                samples.append(frame.to_ndarray().astype(np.float64).ravel())
    data = np.concatenate(samples)
    return 20 * np.log10(np.sqrt(np.mean(data**2)) + 1e-12)


async def test_project_renders_with_music_downloads_and_shares(
    client: AsyncTestClient[Any], worker: Any, seeded_music: int, database_url: str, tmp_path: Path,
) -> None:
    project = await _project_with_clips(client, database_url, ("coffee.jpg", "rocket.jpg", "chelsea.jpg", "astronaut.jpg"))
    tracks = (await client.get("/api/music")).json()["tracks"]
    assert len(tracks) >= 6 and all(t["builtin"] for t in tracks)
    assert len({t["mood"] for t in tracks}) >= 6 and len({t["bpm"] for t in tracks}) >= 6
    assert all(60 <= t["durationSeconds"] <= 125 for t in tracks)
    preview = await client.get(tracks[0]["previewUrl"])
    assert preview.status_code == 200 and preview.headers["content-type"] == "audio/mp4"

    base = f"/api/projects/{project['id']}"
    music = await client.put(f"{base}/music", json={"trackId": tracks[0]["id"], "startOffset": 2, "volume": 0.9, "beatSync": False})
    assert music.status_code == 200 and music.json()["music"]["trackId"] == tracks[0]["id"]
    style = await client.put(f"{base}/style", json={"transition": {"kind": "crossfade", "duration": 0.5}})
    assert style.json()["style"]["transition"] == {"kind": "crossfade", "duration": 0.5}
    bad = await client.put(f"{base}/style", json={"transition": {"kind": "spin", "duration": 0.5}})
    assert bad.status_code == 400

    first = await client.post(f"{base}/render")
    again = await client.post(f"{base}/render")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"], "one active render per project"
    render = await _wait_render(client, first.json()["id"])
    assert render["status"] == "succeeded", render
    assert render["watermarked"] is False and render["mode"] == "smart"
    print(f"\nrender of 4 clips with music: {render['renderSeconds']:.2f}s ({render['mode']})")

    download = await client.get(render["downloadUrl"])
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert 'filename="Grandma-s-80th-garden.mp4"' in disposition
    video = tmp_path / "video.mp4"
    video.write_bytes(download.content)
    info = probe(video)
    assert info.video_streams == 1 and info.audio_streams == 1
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.pix_fmt, info.video.width, info.video.height) == ("h264", "yuv420p", 1280, 720)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)
    assert abs(info.duration - (4 * 5.0 - 3 * 0.5)) <= 1 / 24 + 0.03
    assert _rms_db(video, 5, 10) > -35, "the music is audible"

    history = (await client.get(f"{base}/renders")).json()["items"]
    assert [r["id"] for r in history] == [render["id"]]

    balance = (await client.get("/api/me")).json()["creditBalance"]
    shared = (await client.post(f"/api/renders/{render['id']}/share")).json()
    assert shared["rewarded"] is True and len(shared["slug"]) >= 16
    public = await client.get(f"/api/public/videos/{shared['slug']}")
    assert public.status_code == 200
    assert set(public.json()) == {"title", "posterUrl", "videoUrl", "durationSeconds", "width", "height"}
    assert "@" not in public.text and project["id"] not in public.text
    assert (await client.get(public.json()["videoUrl"])).status_code == 200
    assert (await client.delete(f"/api/renders/{render['id']}/share")).status_code == 204
    assert (await client.get(f"/api/public/videos/{shared['slug']}")).status_code == 404
    again_shared = (await client.post(f"/api/renders/{render['id']}/share")).json()
    assert again_shared["rewarded"] is False
    assert (await client.get("/api/me")).json()["creditBalance"] == balance + 1
    rewards = await sql(database_url, "SELECT count(*) AS n FROM credit_transactions WHERE kind = 'share'")
    assert rewards[0]["n"] == 1


async def test_beat_synced_render(
    client: AsyncTestClient[Any], worker: Any, seeded_music: int, database_url: str, music_dir: Path
) -> None:
    project = await _project_with_clips(client, database_url, ("hubble.jpg", "coffee.jpg", "rocket.jpg"))
    track = (await client.get("/api/music")).json()["tracks"][-1]
    base = f"/api/projects/{project['id']}"
    await client.put(f"{base}/music", json={"trackId": track["id"], "startOffset": 0, "volume": 1, "beatSync": True})
    await client.put(f"{base}/style", json={"transition": {"kind": "cut", "duration": 0}})
    render = await _wait_render(client, (await client.post(f"{base}/render")).json()["id"])
    assert render["status"] == "succeeded", render
    meta = next(t for t in load_library(music_dir) if t.title == track["title"])
    beat = 60.0 / meta.bpm
    beats = (render["durationSeconds"] - meta.beats_offset_seconds) / beat
    assert render["durationSeconds"] <= 15.0 + 1e-6
    assert abs(beats - round(beats)) * beat <= 1 / 24 + 0.02, "the end of the video lands on a beat"


async def test_rendering_needs_every_clip_ready(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    project = await new_project(client)
    empty = await client.post(f"/api/projects/{project['id']}/render")
    assert empty.status_code == 409 and empty.json()["code"] == "CLIPS_NOT_READY"
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
    draft = await client.post(f"/api/projects/{project['id']}/render")
    assert draft.status_code == 409 and "not ready" in draft.json()["detail"]


def _audio(path: Path, *args: str) -> Path:
    subprocess.run(ffmpeg_cmd(*args, str(path)), check=True)
    return path


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("audio")
    tone = "-f lavfi -i sine=frequency=440:duration=8 -f lavfi -i sine=frequency=660:duration=8 -filter_complex amix=inputs=2".split()
    return {
        "song.mp3": _audio(d / "song.mp3", *tone, "-c:a", "libmp3lame"),
        "song.m4a": _audio(d / "song.m4a", *tone, "-c:a", "aac"),
        "song.wav": _audio(d / "song.wav", *tone),
        "song.ogg": _audio(d / "song.ogg", *tone, "-c:a", "libvorbis"),
        "long.wav": _audio(d / "long.wav", *"-f lavfi -i sine=duration=660:sample_rate=8000 -ac 1 -c:a pcm_u8".split()),
        "video.mp4": _audio(d / "video.mp4", *"-f lavfi -i testsrc2=duration=2 -c:v libx264 -pix_fmt yuv420p".split()),
    }


async def test_own_tracks_are_checked_by_content(
    client: AsyncTestClient[Any], audio_files: dict[str, Path], settings: Settings
) -> None:
    await sign_up(client)
    uploaded = []
    for name in ("song.mp3", "song.m4a", "song.wav", "song.ogg"):
        r = await client.post("/api/music", files={"track": (name, audio_files[name].read_bytes(), "application/octet-stream")})
        assert r.status_code == 201, (name, r.text)
        assert r.json()["builtin"] is False and r.json()["title"] == "song"
        assert r.json()["durationSeconds"] == pytest.approx(8, abs=0.2)
        uploaded.append(r.json())
    stored_before = sorted(p for p in settings.media_dir.rglob("*") if p.is_file())
    refusals = {
        "notes.mp3": (b"these are my notes, not music" * 10, 415),
        "video.mp4": (audio_files["video.mp4"].read_bytes(), 415),
        "long.wav": (audio_files["long.wav"].read_bytes(), 422),
        "huge.mp3": (b"\xff\xfb\x90\x00" + b"\0" * (21 * 1024 * 1024), 413),
    }
    for name, (data, status) in refusals.items():
        r = await client.post("/api/music", files={"track": (name, data, "audio/mpeg")})
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert sorted(p for p in settings.media_dir.rglob("*") if p.is_file()) == stored_before
    own = [t for t in (await client.get("/api/music")).json()["tracks"] if not t["builtin"]]
    assert len(own) == 4
    assert (await client.delete(f"/api/music/{uploaded[0]['id']}")).status_code == 204
    assert len([t for t in (await client.get("/api/music")).json()["tracks"] if not t["builtin"]]) == 3


async def test_other_users_renders_and_tracks_answer_404(
    client: AsyncTestClient[Any], worker: Any, audio_files: dict[str, Path], database_url: str
) -> None:
    project = await _project_with_clips(client, database_url, ("coffee.jpg",))
    track = (await client.post("/api/music", files={"track": ("mine.mp3", audio_files["song.mp3"].read_bytes(), "audio/mpeg")})).json()
    render = await _wait_render(client, (await client.post(f"/api/projects/{project['id']}/render")).json()["id"])
    await client.post("/api/auth/logout")
    client.cookies.clear()
    await sign_up(client)
    other = await new_project(client)
    checks = [
        await client.get(f"/api/renders/{render['id']}"),
        await client.post(f"/api/renders/{render['id']}/share"),
        await client.delete(f"/api/renders/{render['id']}/share"),
        await client.post(f"/api/renders/{render['id']}/cancel"),
        await client.get(f"/api/projects/{project['id']}/renders"),
        await client.post(f"/api/projects/{project['id']}/render"),
        await client.delete(f"/api/music/{track['id']}"),
        await client.put(f"/api/projects/{other['id']}/music", json={"trackId": track["id"]}),
        await client.get(f"/api/renders/{uuid.uuid4()}"),
        await client.get("/api/public/videos/not-a-real-slug-123"),
    ]
    assert [r.status_code for r in checks] == [404] * len(checks)
