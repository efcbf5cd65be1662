"""The runner: progress reporting, cancellation, and falling back from smart to full."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from assembly.encoding import CLIP_ENCODING
from assembly.render import RenderMode
from assembly.render.join import SmartRenderError
from assembly.runner import render
from assembly.timeline import Clip, Timeline, Transition, TransitionKind
from tests.integration.assembly.conftest import (
    FPS,
    HEIGHT,
    WIDTH,
    decode,
    decode_errors,
    make_clip,
    nearest_colour,
)


def timeline_of(paths: list[Path], **kwargs) -> Timeline:
    kwargs.setdefault("width", WIDTH)
    kwargs.setdefault("height", HEIGHT)
    return Timeline(
        clips=[Clip(path=str(p)) for p in paths],
        fps=FPS,
        transition=Transition(duration=0.5),
        **kwargs,
    )


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


@pytest.mark.parametrize("mode", [RenderMode.FULL, RenderMode.SMART])
async def test_progress_rises_from_zero_to_exactly_one(
    mode: RenderMode, clip: Callable[..., Path], tmp_path: Path
) -> None:
    seen: list[float] = []
    paths = [clip(c) for c in ("red", "green", "blue", "yellow", "magenta", "cyan")]
    # Upscaled to 720p, the full render runs long enough for ffmpeg to report progress.
    size = {"width": 1280, "height": 720} if mode is RenderMode.FULL else {}
    await render(timeline_of(paths, **size), tmp_path / "out.mp4", mode=mode, progress=seen.append)

    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(seen))
    assert any(0.0 < value < 1.0 for value in seen)


async def test_cancelling_a_render_stops_ffmpeg_and_leaves_no_output(
    clip: Callable[..., Path], tmp_path: Path
) -> None:
    # Small clips blown up to 1280x720: a full render that takes a few seconds.
    paths = [clip(c) for c in ("red", "green", "blue", "yellow", "magenta", "cyan")]
    out_dir = tmp_path / "out"
    work_dir = tmp_path / "work"
    out_dir.mkdir()
    work_dir.mkdir()
    started = asyncio.Event()

    def on_progress(fraction: float) -> None:
        if ffmpeg_children():
            started.set()

    task = asyncio.create_task(
        render(
            timeline_of(paths, width=1280, height=720),
            out_dir / "video.mp4",
            progress=on_progress,
            workdir=work_dir,
        )
    )
    waiter = asyncio.create_task(started.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert waiter in done and not task.done(), "the render finished before it could be cancelled"
    assert ffmpeg_children()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert ffmpeg_children() == []
    assert list(out_dir.iterdir()) == []
    assert list(work_dir.iterdir()) == []


async def test_a_clip_in_another_format_is_re_encoded_while_the_others_are_copied(
    clip: Callable[..., Path], media_dir: Path, tmp_path: Path
) -> None:
    odd = make_clip(
        media_dir / "green-ultrafast.mp4",
        "green",
        2.0,
        video_args=[
            *CLIP_ENCODING.video_args()[:2],
            "-preset",
            "ultrafast",
            *CLIP_ENCODING.video_args()[4:],
        ],
    )
    result = await render(timeline_of([clip("red"), odd, clip("blue")]), tmp_path / "out.mp4")

    assert result.mode is RenderMode.SMART
    assert result.encoded_frames == result.frames - 36 - 36
    video = decode(result.output)
    assert [nearest_colour(video.colour_at(n)) for n in (20, 60, 100)] == ["red", "green", "blue"]
    assert decode_errors(result.output) == ""


async def test_clips_that_cannot_share_headers_with_the_encoder_fall_back_to_a_full_render(
    media_dir: Path, tmp_path: Path
) -> None:
    # Stored by some other pipeline (ultrafast: CAVLC instead of CABAC): uniform among
    # themselves, but an encoded transition could not join them by stream copy.
    args = [
        *CLIP_ENCODING.video_args()[:2],
        "-preset",
        "ultrafast",
        *CLIP_ENCODING.video_args()[4:],
    ]
    paths = [
        make_clip(media_dir / f"{c}-ultrafast.mp4", c, 2.0, video_args=args)
        for c in ("red", "blue")
    ]

    result = await render(timeline_of(paths), tmp_path / "auto.mp4")
    assert result.mode is RenderMode.FULL
    assert "smart render not possible" in result.reason
    assert len(decode(result.output).frames) == result.frames == 2 * 48 - 12

    with pytest.raises(SmartRenderError):
        await render(timeline_of(paths), tmp_path / "smart.mp4", mode=RenderMode.SMART)
    assert not (tmp_path / "smart.mp4").exists()


async def test_a_timeline_whose_clip_is_too_short_for_its_transitions_is_refused(
    clip: Callable[..., Path], tmp_path: Path
) -> None:
    short = clip("green", 0.5)
    timeline = Timeline(
        clips=[Clip(path=str(p)) for p in (clip("red"), short, clip("blue"))],
        width=WIDTH,
        height=HEIGHT,
        transition=Transition(kind=TransitionKind.CROSSFADE, duration=0.5),
    )
    with pytest.raises(ValueError, match="too short"):
        await render(timeline, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
