"""The music bed: loudness normalisation, looping, trimming and fades as an ffmpeg chain.

Loudness is normalised in two steps, like a mastering engineer would: measure the track's
integrated loudness once (EBU R128, ffmpeg's ``ebur128``), then apply the one fixed gain
that brings it to the target, with a true-peak limiter catching the peaks a quiet but
spiky track would otherwise clip. A fixed gain keeps the music's dynamics, which a
one-pass dynamic normaliser (``loudnorm`` without a measurement) would squash.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from assembly.ffmpeg import ffmpeg_cmd
from assembly.process import run_ffmpeg
from assembly.timeline import Music

SAMPLE_RATE = 48_000
#: AAC-LC 192 kb/s. The "fast" coder costs ffmpeg's AAC encoder a quarter less time than
#: its default two-loop search, inaudibly at this bitrate; audio encoding is on the
#: critical path of a smart render.
AUDIO_ARGS: tuple[str, ...] = (
    "-c:a",
    "aac",
    "-aac_coder",
    "fast",
    "-b:a",
    "192k",
    "-ar",
    str(SAMPLE_RATE),
    "-ac",
    "2",
)
#: Largest boost applied to a quiet track, so near-silence is not blown up into noise.
MAX_GAIN_DB = 24.0
#: -1 dBTP, the usual ceiling for lossy delivery.
LIMIT_LINEAR = 0.891
_INTEGRATED = re.compile(r"lavfi\.r128\.I=(-?[0-9.]+|-?inf)")


@dataclass(frozen=True, slots=True)
class AudioGraph:
    """Inputs and a filter chain ending in the label ``out``."""

    input_args: list[str]
    filters: list[str]
    out: str


def loudness_measurement_cmd(music: Music, metadata_file: Path) -> list[str]:
    """ffmpeg argv that measures the integrated loudness of the track as played (from
    ``music.start``), writing ebur128's running values to ``metadata_file``."""
    return ffmpeg_cmd(
        *_seek(music.start),
        "-i",
        music.path,
        "-vn",
        "-af",
        f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={_escape_filter_path(metadata_file)}",
        "-f",
        "null",
        "-",
    )


def parse_integrated_loudness(metadata: str) -> float:
    """The final integrated loudness (LUFS) in ebur128's metadata log; ``-inf`` for silence."""
    values = _INTEGRATED.findall(metadata)
    if not values:
        raise ValueError("no loudness measurement in the ebur128 output (is the track empty?)")
    return float(values[-1])


async def measure_loudness(music: Music, workdir: Path) -> float:
    """Integrated loudness of the track as it will be played, in LUFS."""
    metadata_file = workdir / "loudness.txt"
    await run_ffmpeg(loudness_measurement_cmd(music, metadata_file))
    return parse_integrated_loudness(metadata_file.read_text())


def normalising_gain_db(integrated_lufs: float, target_lufs: float) -> float:
    if not math.isfinite(integrated_lufs) or integrated_lufs <= -70:
        return 0.0
    return min(MAX_GAIN_DB, target_lufs - integrated_lufs)


def loop_count(track_seconds: float, video_seconds: float, crossfade: float) -> int:
    """How many copies of the track, joined with ``crossfade``-second overlaps, cover the video."""
    if track_seconds >= video_seconds:
        return 1
    return max(2, math.ceil((video_seconds - crossfade) / (track_seconds - crossfade)))


def effective_loop_crossfade(music: Music, track_seconds: float) -> float:
    """The loop crossfade, shortened so it never covers more than half the track."""
    return min(music.loop_crossfade, track_seconds / 2)


def music_graph(
    music: Music,
    *,
    track_seconds: float,
    video_seconds: float,
    integrated_lufs: float,
    first_input: int,
    out: str = "aout",
) -> AudioGraph:
    """The music bed for a video of ``video_seconds``.

    ``track_seconds`` is the playable length of the track from ``music.start``;
    ``first_input`` is the ffmpeg input index the track's first copy will get.
    """
    if track_seconds <= 0:
        raise ValueError(f"music {music.path}: nothing to play after {music.start} s")
    crossfade = effective_loop_crossfade(music, track_seconds)
    copies = loop_count(track_seconds, video_seconds, crossfade)
    input_args: list[str] = []
    filters: list[str] = []
    for i in range(copies):
        input_args += [*_seek(music.start), "-i", music.path]
        filters.append(
            f"[{first_input + i}:a:0]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo[m{i}]"
        )
    current = "m0"
    for i in range(1, copies):
        filters.append(f"[{current}][m{i}]acrossfade=d={_t(crossfade)}:c1=qsin:c2=qsin[mx{i}]")
        current = f"mx{i}"

    gain = normalising_gain_db(integrated_lufs, music.loudness)
    chain = [
        f"volume={gain:.3f}dB",
        f"alimiter=limit={LIMIT_LINEAR}:level=0:latency=1",
        f"volume={music.volume:g}",
        f"atrim=end={_t(video_seconds)}",
        f"apad=whole_dur={_t(video_seconds)}",
    ]
    if music.fade_in > 0:
        chain.append(f"afade=t=in:st=0:d={_t(min(music.fade_in, video_seconds))}")
    if music.fade_out > 0:
        fade = min(music.fade_out, video_seconds)
        chain.append(f"afade=t=out:st={_t(video_seconds - fade)}:d={_t(fade)}")
    chain.append(f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo")
    filters.append(f"[{current}]{','.join(chain)}[{out}]")
    return AudioGraph(input_args, filters, out)


def silence_graph(video_seconds: float, out: str = "aout") -> AudioGraph:
    """A silent stereo track, so every video has the same stream layout."""
    return AudioGraph(
        [],
        [
            f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end={_t(video_seconds)},aformat=sample_fmts=fltp[{out}]"
        ],
        out,
    )


def _seek(start: float) -> list[str]:
    return ["-ss", _t(start)] if start > 0 else []


def _t(seconds: float) -> str:
    return f"{seconds:.6f}"


def _escape_filter_path(path: Path) -> str:
    """Quote a path for use as a filter option value (quoted text is taken literally)."""
    if "'" in str(path):
        raise ValueError(f"cannot pass a path containing a quote to a filter: {path}")
    return f"'{path}'"
