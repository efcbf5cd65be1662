"""``python -m assembly render`` as a person would run it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from assembly.probe import probe
from tests.integration.assembly.conftest import FPS, HEIGHT, WIDTH
from tests.paths import REPO_ROOT

FLAGS = [
    "--clip",
    "--music",
    "--transition",
    "--transition-duration",
    "--watermark",
    "--size",
    "--fps",
    "--beat-sync",
    "--mode",
    "--out",
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assembly", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_documents_every_public_flag() -> None:
    result = run_cli("render", "--help")
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout


def test_render_writes_the_video_and_its_poster(
    clip: Callable[..., Path], music_120bpm: Path, watermark_png: Path, tmp_path: Path
) -> None:
    out = tmp_path / "video.mp4"
    result = run_cli(
        "render",
        "--clip",
        str(clip("red")),
        "--clip",
        str(clip("green")),
        "--clip",
        str(clip("blue")),
        "--music",
        str(music_120bpm),
        "--transition",
        "wipe",
        "--transition-duration",
        "0.5",
        "--watermark",
        str(watermark_png),
        "--size",
        f"{WIDTH}x{HEIGHT}",
        "--fps",
        str(FPS),
        "--beat-sync",
        "--mode",
        "auto",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert info.video is not None and (info.video.width, info.video.height) == (WIDTH, HEIGHT)
    assert info.audio is not None
    assert out.with_suffix(".jpg").exists()
    assert "full render" in result.stdout  # the watermark rules out stream copy


def test_render_without_clips_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("render", "--out", str(tmp_path / "x.mp4"))
    assert result.returncode == 2
    assert "--clip" in result.stderr


def test_a_missing_clip_is_reported_without_a_traceback(tmp_path: Path) -> None:
    result = run_cli(
        "render", "--clip", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "x.mp4"), "--quiet"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    assert not (tmp_path / "x.mp4").exists()
