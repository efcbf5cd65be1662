"""Timeline -> ffmpeg command lines. Pure functions: they write nothing and run nothing.

Each returns an :class:`FfmpegJob`: the argv, the small text files it refers to (concat
lists) that the runner writes first, and the output duration for progress reporting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assembly.encoding import CLIP_ENCODING, ClipEncoding
from assembly.ffmpeg import ffmpeg_cmd
from assembly.music import AUDIO_ARGS, AudioGraph, music_graph, silence_graph
from assembly.render.graph import Assets, build_video_graph
from assembly.render.layout import Layout, SmartPlan, Window
from assembly.render.media import SourceInfo
from assembly.timeline import Timeline


@dataclass(frozen=True, slots=True)
class MusicInput:
    """What was measured about the music track before planning."""

    track_seconds: float
    integrated_lufs: float


@dataclass(frozen=True, slots=True)
class FfmpegJob:
    argv: list[str]
    files: dict[Path, str]
    total_seconds: float


def audio_graph(
    timeline: Timeline, layout: Layout, music: MusicInput | None, first_input: int
) -> AudioGraph:
    if timeline.music is None:
        return silence_graph(layout.duration)
    if music is None:
        raise ValueError("the music track has not been measured")
    return music_graph(
        timeline.music,
        track_seconds=music.track_seconds,
        video_seconds=layout.duration,
        integrated_lufs=music.integrated_lufs,
        first_input=first_input,
    )


def full_render_job(
    timeline: Timeline,
    layout: Layout,
    sources: Sequence[SourceInfo],
    assets: Assets,
    music: MusicInput | None,
    workdir: Path,
    output: Path,
    *,
    encoding: ClipEncoding = CLIP_ENCODING,
) -> FfmpegJob:
    """The whole video in one ffmpeg run: one filtergraph, one encode, music included."""
    video = build_video_graph(
        timeline, layout, sources, assets, [Window(0, layout.total_frames, 0)], workdir
    )
    audio = audio_graph(timeline, layout, music, first_input=video.inputs)
    argv = ffmpeg_cmd(
        *video.input_args,
        *audio.input_args,
        "-filter_complex",
        ";".join([*video.filters, *audio.filters]),
        "-map",
        f"[{video.out}]",
        "-map",
        f"[{audio.out}]",
        *encoding.video_args(faststart=True),
        *AUDIO_ARGS,
        "-frames:v",
        str(layout.total_frames),
        str(output),
    )
    return FfmpegJob(argv, video.files, layout.duration)


def windows_job(
    timeline: Timeline,
    layout: Layout,
    sources: Sequence[SourceInfo],
    assets: Assets,
    plan: SmartPlan,
    workdir: Path,
    output: Path,
    *,
    encoding: ClipEncoding = CLIP_ENCODING,
) -> FfmpegJob:
    """The encoded windows of a smart render, back to back in one video-only file.

    Each window starts on an IDR frame (forced at its first frame) so the joiner can cut
    the file there; the encoder settings are the stored clips', so the windows' packets
    can share one stream with the clips' copied packets.
    """
    windows = plan.windows
    video = build_video_graph(timeline, layout, sources, assets, windows, workdir)
    fps = layout.fps
    # Half a frame early: the first frame at or after each time becomes a keyframe.
    keyframes = ",".join(f"{(w.enc_start - 0.5) / fps:.6f}" for w in windows[1:]) or "0"
    encoded = plan.encoded_frames
    argv = ffmpeg_cmd(
        *video.input_args,
        "-filter_complex",
        ";".join(video.filters),
        "-map",
        f"[{video.out}]",
        *encoding.video_args(faststart=False),
        "-force_key_frames",
        keyframes,
        "-forced-idr",
        "1",
        "-frames:v",
        str(encoded),
        "-an",
        str(output),
    )
    return FfmpegJob(argv, video.files, encoded / fps)


def music_job(
    timeline: Timeline, layout: Layout, music: MusicInput | None, output: Path
) -> FfmpegJob:
    """The finished audio track (AAC in MP4) for a smart render, muxed in by the joiner."""
    audio = audio_graph(timeline, layout, music, first_input=0)
    argv = ffmpeg_cmd(
        *audio.input_args,
        "-filter_complex",
        ";".join(audio.filters),
        "-map",
        f"[{audio.out}]",
        *AUDIO_ARGS,
        str(output),
    )
    return FfmpegJob(argv, {}, layout.duration)
