"""Turning whatever a provider made into a stored Echoes clip, plus its poster.

Runway, Runpod and the local motion provider return very different MP4s (any size, frame
rate, codec, sometimes with audio or rotation metadata). Every clip is normalised here to
the one stored format: the project aspect's exact size (cover-cropped, never stretched),
24 fps constant frame rate, :data:`CLIP_ENCODING` (H.264 High, yuv420p, +faststart), no
audio track — optionally with the photo held as an intro and the free-try watermark, all
in a single encode. A poster JPEG (a frame from the middle of the motion, sized like the
video) goes with every clip.

Outputs are written atomically: a failed or cancelled run leaves neither file behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec
from PIL import Image

from assembly.encoding import CLIP_ENCODING, size_for_aspect
from assembly.ffmpeg import ffmpeg_cmd
from assembly.motion import DEFAULT_DURATION, render_motion
from assembly.probe import VIDEO_CONTAINERS, probe, sniff_file, untrusted_input_args
from assembly.process import atomic_output, run_ffmpeg
from assembly.watermark import render_watermark_png, watermark_overlay_position

DEFAULT_INTRO_SECONDS = 0.5
POSTER_QUALITY = 3  # ffmpeg's -q:v for mjpeg: 2 (best) .. 31


class ClipError(RuntimeError):
    """A video that ffmpeg read without complaint is still unusable as a clip."""


class ClipInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished clip file is, as probed from the file itself."""

    duration: float
    frames: int
    width: int
    height: int
    size_bytes: int


def finish_argv(
    source_video: Path,
    out: Path,
    *,
    aspect: str,
    intro_photo: Path | None = None,
    intro_seconds: float = DEFAULT_INTRO_SECONDS,
    duration: float | None = DEFAULT_DURATION,
    watermark: Path | None = None,
    watermark_size: tuple[int, int] | None = None,
    source_format: str = "mov",
) -> list[str]:
    """The ffmpeg command that normalises ``source_video`` into the stored clip ``out``.

    See :func:`finish_clip`; ``watermark`` is the PNG of ``watermark_size`` to overlay.
    The provider's video is opened as ``source_format`` only, from the local file only
    (:func:`assembly.probe.untrusted_input_args`).
    """
    if duration is not None and duration <= 0:
        raise ValueError("duration must be positive")
    if intro_seconds < 0:
        raise ValueError("intro_seconds must not be negative")
    if (watermark is None) != (watermark_size is None):
        raise ValueError("watermark and watermark_size go together")
    width, height = size_for_aspect(aspect)
    fps = CLIP_ENCODING.fps
    cover = (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,"
        f"crop={width}:{height},setsar=1,format=yuv420p"
    )

    inputs = untrusted_input_args(source_video, source_format)
    motion = f"[0:v]setpts=PTS-STARTPTS,fps={fps},{cover}"
    if duration is not None:
        motion += f",trim=end_frame={round(duration * fps)}"
    graph = [motion + "[motion]"]
    last = "motion"
    intro_frames = _intro_frames(intro_photo, intro_seconds)
    if intro_frames:
        inputs += ["-framerate", str(fps), "-i", str(intro_photo)]
        graph.append(f"[1:v]{cover},loop=loop={intro_frames - 1}:size=1[intro]")
        graph.append("[intro][motion]concat=n=2:v=1:a=0[joined]")
        last = "joined"
    if watermark is not None and watermark_size is not None:
        x, y = watermark_overlay_position(width, height, *watermark_size)
        index = 2 if intro_frames else 1
        inputs += ["-i", str(watermark)]
        graph.append(f"[{last}][{index}:v]overlay=x={x}:y={y}:eof_action=repeat[marked]")
        last = "marked"
    return ffmpeg_cmd(
        *inputs,
        "-filter_complex", ";".join(graph),
        "-map", f"[{last}]",
        "-map_metadata", "-1",
        *CLIP_ENCODING.video_args(),
        str(out),
    )


async def finish_clip(
    source_video: Path,
    out_video: Path,
    out_poster: Path,
    *,
    aspect: str,
    intro_photo: Path | None = None,
    intro_seconds: float = DEFAULT_INTRO_SECONDS,
    watermark: bool = False,
    duration: float | None = DEFAULT_DURATION,
    progress: Callable[[float], None] | None = None,
    source_format: str | None = None,
) -> ClipInfo:
    """Normalise a provider's video into a stored clip and write its poster.

    The source is untrusted: its container is sniffed from its first bytes (or given as
    ``source_format``) and it is opened as that and nothing else; a file that is not an
    MP4/MOV or Matroska/WebM video raises :class:`ClipError` before ffmpeg runs.

    The source is cover-cropped to the aspect's size, resampled to 24 fps CFR and cut to
    ``duration`` seconds (``None`` keeps it whole; a shorter source stays shorter). With
    ``intro_photo`` the photo, cover-cropped the same way, is held for ``intro_seconds``
    before the motion. ``watermark`` overlays the free-try mark. Any audio is dropped.
    ``progress`` is called with the fraction of the encode done (see
    :func:`assembly.process.run_ffmpeg`).
    """
    source_video, out_video, out_poster = Path(source_video), Path(out_video), Path(out_poster)
    container = source_format or await asyncio.to_thread(sniff_file, source_video)
    if container not in VIDEO_CONTAINERS:
        raise ClipError(f"{source_video.name} is not an MP4/MOV or WebM video")
    width, height = size_for_aspect(aspect)
    intro = _intro_frames(intro_photo, intro_seconds) / CLIP_ENCODING.fps
    with contextlib.ExitStack() as stack:
        png, png_size = _watermark_file(stack, width, height) if watermark else (None, None)
        tmp_video = stack.enter_context(atomic_output(out_video))
        tmp_poster = stack.enter_context(atomic_output(out_poster))
        argv = finish_argv(
            source_video,
            tmp_video,
            aspect=aspect,
            intro_photo=intro_photo,
            intro_seconds=intro_seconds,
            duration=duration,
            watermark=png,
            watermark_size=png_size,
            source_format=container,
        )
        total = None
        if progress is not None:
            total = intro + (duration if duration is not None else await _duration(source_video, container))
        # A source of unknown length gives nothing to measure progress against.
        await run_ffmpeg(argv, progress=progress if total else None, total_seconds=total)
        info = await _clip_info(tmp_video)
        await extract_poster(tmp_video, tmp_poster, at_seconds=intro + (info.duration - intro) / 2)
    return info


async def make_local_clip(
    photo: Path,
    out_video: Path,
    out_poster: Path,
    *,
    aspect: str,
    seed: int,
    intro_seconds: float = 0.0,
    watermark: bool = False,
    duration: float = DEFAULT_DURATION,
    progress: Callable[[float], None] | None = None,
) -> ClipInfo:
    """Make a clip with the local motion provider, intro and watermark included, in one encode.

    ``photo`` is a normalised photo (upright RGB JPEG). The result is in the same stored
    format as :func:`finish_clip` produces, so it needs no further finishing. ``progress``
    is called with the fraction of the encode done.
    """
    out_video, out_poster = Path(out_video), Path(out_poster)
    width, height = size_for_aspect(aspect)
    with contextlib.ExitStack() as stack:
        png = _watermark_file(stack, width, height)[0] if watermark else None
        tmp_video = stack.enter_context(atomic_output(out_video))
        tmp_poster = stack.enter_context(atomic_output(out_poster))
        await render_motion(
            Path(photo),
            tmp_video,
            aspect=aspect,
            duration=duration,
            seed=seed,
            intro_seconds=intro_seconds,
            watermark=png,
            progress=progress,
        )
        info = await _clip_info(tmp_video)
        intro = round(intro_seconds * CLIP_ENCODING.fps) / CLIP_ENCODING.fps
        await extract_poster(tmp_video, tmp_poster, at_seconds=intro + duration / 2)
    return info


async def extract_poster(video: Path, poster: Path, *, at_seconds: float) -> None:
    """Write the frame shown at ``at_seconds`` of ``video`` as a JPEG the video's size.

    Seeks on the input, so only the frames since the preceding keyframe are decoded
    (at most half a second's worth in a stored clip). The video's BT.709 limited-range
    colours are converted to the full-range BT.601 that every JPEG reader assumes.
    """
    poster = Path(poster)
    with atomic_output(poster) as tmp:
        argv = ffmpeg_cmd(
            "-ss", f"{max(0.0, at_seconds):.3f}",
            "-i", str(video),
            "-frames:v", "1",
            "-update", "1",
            "-vf", "scale=out_color_matrix=bt601:out_range=full",
            "-q:v", str(POSTER_QUALITY),
            "-fflags", "+bitexact", "-flags:v", "+bitexact",
            str(tmp),
        )
        await run_ffmpeg(argv)
        if not tmp.is_file():
            raise ClipError(f"{video} has no frame at {at_seconds:.3f}s for a poster")


def _intro_frames(intro_photo: Path | None, intro_seconds: float) -> int:
    return round(intro_seconds * CLIP_ENCODING.fps) if intro_photo is not None else 0


async def _duration(video: Path, container: str) -> float:
    media = await asyncio.to_thread(probe, video, count_frames=False, container_format=container)
    return media.duration


async def _clip_info(video: Path) -> ClipInfo:
    media = await asyncio.to_thread(probe, video)
    if media.video is None:
        raise ClipError(f"{video} has no video stream")
    return ClipInfo(
        duration=media.video.duration,
        frames=media.video.frames,
        width=media.video.width,
        height=media.video.height,
        size_bytes=media.size_bytes,
    )


def _watermark_file(
    stack: contextlib.ExitStack, width: int, height: int
) -> tuple[Path, tuple[int, int]]:
    """Write the watermark PNG for a ``width`` x ``height`` frame to a temporary file.

    The file lives as long as ``stack``; returns its path and pixel size.
    """
    png = render_watermark_png(width, height)
    directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="echoes-wm-")))
    path = directory / "watermark.png"
    path.write_bytes(png)
    with Image.open(io.BytesIO(png)) as image:
        return path, image.size
