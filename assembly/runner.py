"""Running a render: read the clips, measure the music, pick full or smart, run ffmpeg with
progress and cancellation, and leave either a finished MP4 (plus poster) or nothing.

:func:`render` is the one entry point the worker and the CLI call. Guarantees:

- Progress: ``progress(fraction)`` is called with values from 0.0 to 1.0 as work is done
  (from ffmpeg's ``-progress`` output), ending with exactly 1.0.
- Cancellation: cancelling the awaiting task stops ffmpeg (terminate, then kill — see
  :mod:`assembly.process`), waits for an in-progress join to stop, and deletes every
  partial file; the output path is only ever written by an atomic rename of a finished file.
- Memory: clips are read one at a time (scanning, decoding, joining), so peak memory does
  not grow with the number of clips.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import av
import structlog

from assembly.music import measure_loudness
from assembly.probe import probe
from assembly.process import atomic_output, run_ffmpeg
from assembly.render import ModeDecision, RenderMode, choose_mode
from assembly.render.assets import prepare_assets
from assembly.render.commands import FfmpegJob, MusicInput, full_render_job, music_job, windows_job
from assembly.render.graph import Assets
from assembly.render.join import JoinCancelled, SmartRenderError, join
from assembly.render.layout import Layout, SegmentKind, plan_layout
from assembly.render.media import SourceInfo, scan_source
from assembly.timeline import Timeline

log = structlog.get_logger(__name__)

ProgressCallback = Callable[[float], None]

#: Cost of encoding the audio track and of joining, relative to encoding one video frame
#: per output frame; only used to weight progress.
_AUDIO_COST_PER_FRAME = 0.04
_JOIN_COST_PER_FRAME = 0.02
POSTER_QUALITY = 88


@dataclass(frozen=True, slots=True)
class RenderResult:
    output: Path
    poster: Path
    mode: RenderMode
    reason: str
    frames: int
    duration: float
    #: Frames that went through the encoder (all of them in a full render).
    encoded_frames: int
    seconds: float


async def render(
    timeline: Timeline,
    output: str | Path,
    *,
    mode: RenderMode = RenderMode.AUTO,
    poster: str | Path | None = None,
    progress: ProgressCallback | None = None,
    beat_sync: bool = False,
    workdir: str | Path | None = None,
) -> RenderResult:
    """Render ``timeline`` to ``output`` (MP4) and a poster JPEG (default: beside it).

    ``beat_sync`` trims each clip so every cut lands on a beat of the music.
    ``workdir`` is where temporary files go (default: the system's temporary directory).
    Raises ``ValueError`` for a timeline that cannot be made (e.g. a clip too short for its
    transitions), :class:`~assembly.process.FFmpegError` if ffmpeg fails, and
    :class:`SmartRenderError` if a smart render was requested but the clips cannot be
    stream-copied.
    """
    started = time.monotonic()
    output = Path(output)
    poster_path = Path(poster) if poster is not None else output.with_suffix(".jpg")
    report = _Monotonic(progress)
    report(0.0)

    with tempfile.TemporaryDirectory(prefix="echoes-render-", dir=workdir) as tmp:
        work = Path(tmp)
        # Measuring the music's loudness needs nothing else: start it right away.
        music = asyncio.ensure_future(_measure_music(timeline, work))
        try:
            sources = await asyncio.to_thread(_scan_all, timeline)
            if beat_sync:
                timeline = await _sync_to_beats(timeline, sources, work)
            layout = plan_layout(timeline, sources)
            assets = await asyncio.to_thread(prepare_assets, timeline, layout, work)
            decision = choose_mode(timeline, layout, sources, mode)
            log.info(
                "render.planned",
                mode=decision.mode,
                reason=decision.reason,
                frames=layout.total_frames,
            )

            encoded = layout.total_frames
            # The video is written under a temporary name and renamed into place only once
            # it and its poster are complete.
            with atomic_output(output) as partial:
                if decision.mode is RenderMode.SMART:
                    try:
                        encoded = await _smart_render(
                            timeline,
                            layout,
                            sources,
                            assets,
                            music,
                            decision,
                            work,
                            partial,
                            report,
                        )
                    except SmartRenderError as error:
                        if mode is not RenderMode.AUTO:
                            raise
                        log.warning("render.smart_fallback", reason=str(error))
                        decision = ModeDecision(
                            RenderMode.FULL, f"smart render not possible: {error}"
                        )
                        encoded = layout.total_frames
                if decision.mode is RenderMode.FULL:
                    job = full_render_job(
                        timeline, layout, sources, assets, await music, work, partial
                    )
                    await _run(job, report)
                await asyncio.to_thread(write_poster, partial, poster_path, poster_time(layout))
        finally:
            # Stops the loudness measurement when an early failure left it running.
            music.cancel()
            await asyncio.gather(music, return_exceptions=True)
    report(1.0)
    return RenderResult(
        output=output,
        poster=poster_path,
        mode=decision.mode,
        reason=decision.reason,
        frames=layout.total_frames,
        duration=layout.duration,
        encoded_frames=encoded,
        seconds=time.monotonic() - started,
    )


def _scan_all(timeline: Timeline) -> list[SourceInfo]:
    return [scan_source(clip.path) for clip in timeline.clips]


async def _sync_to_beats(timeline: Timeline, sources: list[SourceInfo], work: Path) -> Timeline:
    # Imported here: numpy is only needed for beat detection.
    from assembly.beats import detect_beats_in_file, snap_clips_to_beats

    if timeline.music is None:
        raise ValueError("beat sync needs music")
    beats = await detect_beats_in_file(timeline.music.path, work, start=timeline.music.start)
    log.info("render.beats", tempo_bpm=round(beats.tempo_bpm, 1), beats=len(beats.beats))
    return snap_clips_to_beats(timeline, sources, beats)


async def _measure_music(timeline: Timeline, work: Path) -> MusicInput | None:
    if timeline.music is None:
        return None
    info = await asyncio.to_thread(probe, timeline.music.path, count_frames=False)
    if info.audio is None:
        raise ValueError(f"music {timeline.music.path} has no audio stream")
    track_seconds = info.duration - timeline.music.start
    if track_seconds <= 0:
        raise ValueError(
            f"music starts at {timeline.music.start} s but the track lasts {info.duration:.2f} s"
        )
    loudness = await measure_loudness(timeline.music, work)
    return MusicInput(track_seconds=track_seconds, integrated_lufs=loudness)


async def _smart_render(
    timeline: Timeline,
    layout: Layout,
    sources: list[SourceInfo],
    assets: Assets,
    music: Awaitable[MusicInput | None],
    decision: ModeDecision,
    work: Path,
    output: Path,
    report: ProgressCallback,
) -> int:
    plan = decision.plan
    assert plan is not None
    audio_path = work / "audio.m4a"
    windows_path = work / "windows.mp4" if plan.windows else None
    weights = _Weights(report)
    with_audio = weights.add(layout.total_frames * _AUDIO_COST_PER_FRAME)
    with_windows = weights.add(plan.encoded_frames) if windows_path else None
    joined = weights.add(layout.total_frames * _JOIN_COST_PER_FRAME)

    async def make_audio() -> None:
        await _run(music_job(timeline, layout, await music, audio_path), with_audio)

    # The windows and the audio do not depend on each other: encode them side by side.
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(make_audio())
            if windows_path is not None and with_windows is not None:
                job = windows_job(timeline, layout, sources, assets, plan, work, windows_path)
                group.create_task(_run(job, with_windows))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None

    cancel = threading.Event()
    await _in_thread(
        lambda: join(
            plan, sources, windows_path, audio_path, output, fps=layout.fps, cancel=cancel
        ),
        cancel,
    )
    joined(1.0)
    return plan.encoded_frames


async def _run(job: FfmpegJob, report: ProgressCallback) -> None:
    for path, text in job.files.items():
        path.write_text(text)
    await run_ffmpeg(job.argv, progress=report, total_seconds=job.total_seconds)


async def _in_thread(fn: Callable[[], None], cancel: threading.Event) -> None:
    """Run blocking ``fn`` in a thread; on cancellation, signal it and wait for it to stop
    so nothing is still writing once the caller cleans up."""
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        cancel.set()
        with contextlib.suppress(JoinCancelled, Exception):
            await task
        raise


class _Monotonic:
    """Passes progress on, never going back (a smart render that falls back to a full one
    starts counting again)."""

    def __init__(self, report: ProgressCallback | None) -> None:
        self._report = report
        self._last = -1.0

    def __call__(self, fraction: float) -> None:
        if self._report is not None and fraction > self._last:
            self._last = fraction
            self._report(fraction)


class _Weights:
    """Combines the progress of steps of different cost into one 0..1 figure."""

    def __init__(self, report: ProgressCallback) -> None:
        self._report = report
        self._weights: list[float] = []
        self._done: list[float] = []

    def add(self, weight: float) -> ProgressCallback:
        index = len(self._weights)
        self._weights.append(max(weight, 1e-9))
        self._done.append(0.0)

        def update(fraction: float) -> None:
            self._done[index] = min(1.0, max(self._done[index], fraction))
            total = sum(self._weights)
            self._report(sum(w * d for w, d in zip(self._weights, self._done, strict=True)) / total)

        return update


def poster_time(layout: Layout) -> float:
    """A representative moment for the poster: the middle of the first clip's solo part."""
    segment = next(s for s in layout.segments if s.kind is SegmentKind.CLIP)
    start, end = segment.solo
    frame = (start + end - 1) // 2 if end > start else segment.out_start
    return frame / layout.fps


def write_poster(video: Path, poster: Path, at_seconds: float) -> None:
    """Save the frame shown at ``at_seconds`` of ``video`` as a JPEG (atomically)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        container.seek(int(at_seconds / stream.time_base), stream=stream, backward=True)
        image = None
        for frame in container.decode(stream):
            image = frame.to_image()
            if frame.time is not None and frame.time >= at_seconds - 0.5 / float(
                stream.average_rate or 24
            ):
                break
    if image is None:
        raise ValueError(f"{video}: no frame to make a poster from")
    with atomic_output(poster) as partial:
        image.save(partial, format="JPEG", quality=POSTER_QUALITY)
