"""Generated media for the assembly tests, and ways to look inside rendered videos.

Clips are small (256x144) and short, stored with ``CLIP_ENCODING`` exactly like
production clips. Each is one flat colour with a white square that moves 4 px per frame,
so a decoded frame tells which clip it came from (the colour) *and* which of its frames it
is (the square's position): joins can be checked frame by frame.
"""

from __future__ import annotations

import functools
import math
import subprocess
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from assembly.encoding import CLIP_ENCODING
from assembly.ffmpeg import ffmpeg_cmd

WIDTH, HEIGHT, FPS = 256, 144, 24
MARKER = 16
MARKER_STEP = 4
MARKER_PERIOD = (WIDTH - MARKER) // MARKER_STEP  # frames before the square wraps around

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 200, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 210, 40),
    "magenta": (200, 40, 200),
    "cyan": (40, 200, 210),
}


def make_clip(
    path: Path,
    colour: str,
    seconds: float,
    *,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    fps: int = FPS,
    video_args: list[str] | None = None,
) -> Path:
    r, g, b = COLOURS[colour]
    w, h = size
    graph = (
        f"color=c=0x{r:02x}{g:02x}{b:02x}:s={w}x{h}:r={fps}:d={seconds}[bg];"
        f"color=c=white:s={MARKER}x{MARKER}:r={fps}:d={seconds}[sq];"
        f"[bg][sq]overlay=x='mod(n,{MARKER_PERIOD})*{MARKER_STEP}':y=8:shortest=1,format=yuv420p[v]"
    )
    args = video_args if video_args is not None else CLIP_ENCODING.video_args()
    subprocess.run(
        ffmpeg_cmd("-filter_complex", graph, "-map", "[v]", *args, str(path)), check=True
    )
    return path


def synth_music(
    path: Path, seconds: float, *, bpm: float = 120.0, first_beat: float = 0.25, gain: float = 0.5
) -> Path:
    """A WAV with a kick drum on every beat over a quiet chord (beats at known times)."""
    rate = 44_100
    t = np.arange(int(seconds * rate)) / rate
    signal = sum(0.05 * np.sin(2 * math.pi * f * t) for f in (220.0, 277.2, 329.6))
    signal = np.asarray(signal, dtype=np.float64)
    n = int(0.15 * rate)
    tt = np.arange(n) / rate
    kick = np.sin(2 * math.pi * (55 + 60 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 18)
    for beat in beat_times(seconds, bpm=bpm, first_beat=first_beat):
        start = round(beat * rate)
        piece = kick[: len(signal) - start]
        signal[start : start + len(piece)] += 0.8 * piece
    pcm = (np.clip(signal * gain, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def beat_times(seconds: float, *, bpm: float, first_beat: float) -> np.ndarray:
    return np.arange(first_beat, seconds - 0.2, 60.0 / bpm)


@dataclass
class Decoded:
    """All frames of a rendered video, as RGB arrays, with their presentation times."""

    frames: list[np.ndarray]
    times: list[float]

    def colour_at(self, index: int) -> np.ndarray:
        """Mean colour of a patch away from the marker and the captions."""
        frame = self.frames[index]
        return frame[40:100, 100:200].reshape(-1, 3).mean(axis=0)

    def marker_frame(self, index: int) -> int | None:
        """Which frame of its clip frame ``index`` shows, from the marker's position."""
        return marker_position(self.frames[index])


def marker_position(frame: np.ndarray) -> int | None:
    band = (
        frame[8 + 4 : 8 + MARKER - 4, :, :].min(axis=2).mean(axis=0)
    )  # white => all channels high
    bright = np.nonzero(band > 235)[0]
    if bright.size == 0:
        return None
    # overlay numbers its frames from 1, so the square of clip frame i sits at (i + 1) * step.
    return (round(bright[0] / MARKER_STEP) - 1) % MARKER_PERIOD


def decode(path: Path) -> Decoded:
    frames, times = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.time))
    return Decoded(frames, times)


@functools.cache
def decoded_colour(name: str) -> np.ndarray:
    """How a clip of colour ``name`` looks once encoded and decoded (the colour matrix of
    the generator and of the decoder differ, so this is not ``COLOURS[name]``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make_clip(Path(tmp) / "reference.mp4", name, 1 / FPS)
        return decode(path).colour_at(0)


def nearest_colour(rgb: np.ndarray) -> str:
    return min(COLOURS, key=lambda name: float(np.abs(decoded_colour(name) - rgb).sum()))


def is_colour(rgb: np.ndarray, name: str, tolerance: float = 12) -> bool:
    return bool(np.abs(decoded_colour(name) - rgb).max() <= tolerance)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two RGB frames, on luma, with 8x8 box windows."""

    def luma(x: np.ndarray) -> np.ndarray:
        return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114

    x, y = luma(a.astype(np.float64)), luma(b.astype(np.float64))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def box(img: np.ndarray, k: int = 8) -> np.ndarray:
        s = img.cumsum(0).cumsum(1)
        s = np.pad(s, ((1, 0), (1, 0)))
        return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)

    mx, my = box(x), box(y)
    vx, vy, cov = box(x * x) - mx * mx, box(y * y) - my * my, box(x * y) - mx * my
    value = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(value.mean())


def decode_errors(path: Path) -> str:
    """What ffmpeg complains about while decoding every frame and sample (empty if nothing)."""
    result = subprocess.run(
        ffmpeg_cmd("-v", "error", "-i", str(path), "-f", "null", "-"),
        capture_output=True,
        text=True,
    )
    return (
        result.stderr + ("" if result.returncode == 0 else f"\nexit {result.returncode}")
    ).strip()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assembly-media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Callable[..., Path]:
    """``clip("red", 2.0)``: a stored-format clip of that colour and length (cached)."""
    cache: dict[tuple, Path] = {}

    def make(colour: str, seconds: float = 2.0, **kwargs) -> Path:
        key = (colour, seconds, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
        if key not in cache:
            name = f"{colour}-{seconds:g}-{len(cache)}.mp4"
            cache[key] = make_clip(media_dir / name, colour, seconds, **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def music_120bpm(media_dir: Path) -> Path:
    """12 s at 120 BPM, first beat at 0.25 s."""
    return synth_music(media_dir / "music-120.wav", 12.0, bpm=120.0, first_beat=0.25)


@pytest.fixture(scope="session")
def short_music(media_dir: Path) -> Path:
    """A 3 s track: shorter than the videos it is laid under, so it must loop."""
    return synth_music(media_dir / "music-short.wav", 3.0, bpm=100.0, first_beat=0.2, gain=0.2)


@pytest.fixture(scope="session")
def watermark_png(media_dir: Path) -> Path:
    """An opaque white 40x20 block: easy to find in a frame."""
    path = media_dir / "watermark.png"
    Image.new("RGBA", (40, 20), (255, 255, 255, 255)).save(path)
    return path


@pytest.fixture(scope="session")
def photo(media_dir: Path) -> Path:
    """A still for the intro: flat orange, unlike any clip colour."""
    path = media_dir / "photo.png"
    Image.new("RGB", (320, 240), (250, 140, 0)).save(path)
    return path
