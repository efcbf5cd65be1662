"""Rendered videos play to the end in a real Chromium, without a media error.

Chromium is driven headless over the DevTools protocol: a page plays the file in a
``<video>`` element and reports what the media pipeline saw.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from assembly.render import RenderMode
from assembly.runner import render
from assembly.timeline import Clip, Music, Timeline, Transition
from tests.integration.assembly.conftest import FPS, HEIGHT, WIDTH

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
if CHROMIUM is None:  # a missing browser must fail loudly, not pass quietly as a skip
    raise RuntimeError("Chromium is required for these tests: apt-get install -y chromium")

PLAY = """
new Promise(resolve => {
  const video = document.createElement('video');
  const report = {errors: []};
  video.muted = true;
  video.src = %s;
  video.playbackRate = 4;
  video.onerror = () => { report.errors.push(video.error.code + ' ' + video.error.message); resolve(report); };
  video.onended = () => {
    const quality = video.getVideoPlaybackQuality();
    Object.assign(report, {
      ended: true, duration: video.duration, width: video.videoWidth, height: video.videoHeight,
      frames: quality.totalVideoFrames, corrupted: quality.corruptedVideoFrames,
    });
    resolve(report);
  };
  document.body.appendChild(video);
  video.play().catch(error => { report.errors.push(String(error)); resolve(report); });
})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def chromium_page(
    tmp_path: Path,
) -> AsyncIterator[Callable[[str], Awaitable[dict[str, Any]]]]:
    """``await play(url)``: play a video in a fresh headless Chromium page."""
    assert CHROMIUM is not None
    port = free_port()
    page = tmp_path / "blank.html"
    page.write_text("<!doctype html><html><body></body></html>")
    browser = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-file-access-from-files",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={tmp_path / 'profile'}",
        page.as_uri(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    targets = (await client.get(f"http://127.0.0.1:{port}/json")).json()
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("Chromium did not open its DevTools port")
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with websockets.connect(url, max_size=None) as devtools:

            async def play(video_url: str) -> dict[str, Any]:
                expression = PLAY % json.dumps(video_url)
                params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
                await devtools.send(
                    json.dumps({"id": 1, "method": "Runtime.evaluate", "params": params})
                )
                while True:
                    message = json.loads(await asyncio.wait_for(devtools.recv(), 60))
                    if message.get("id") == 1:
                        return message["result"]["result"]["value"]

            yield play
    finally:
        browser.terminate()
        try:
            await asyncio.wait_for(browser.wait(), 10)
        except TimeoutError:
            browser.kill()
            await browser.wait()


@pytest.mark.parametrize("mode", [RenderMode.SMART, RenderMode.FULL])
async def test_rendered_video_plays_to_the_end_in_chromium(
    mode: RenderMode,
    clip: Callable[..., Path],
    music_120bpm: Path,
    chromium_page: Callable[[str], Awaitable[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    timeline = Timeline(
        clips=[Clip(path=str(clip(c))) for c in ("red", "green", "blue")],
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        transition=Transition(duration=0.5),
        music=Music(path=str(music_120bpm)),
    )
    result = await render(timeline, tmp_path / "video.mp4", mode=mode)

    report = await chromium_page(result.output.as_uri())
    assert report["errors"] == []
    assert report["ended"] is True
    assert (report["width"], report["height"]) == (WIDTH, HEIGHT)
    assert abs(report["duration"] - result.duration) <= 1 / FPS
    assert report["frames"] == result.frames
    assert report["corrupted"] == 0
