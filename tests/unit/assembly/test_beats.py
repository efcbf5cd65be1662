"""Beat detection on synthesised PCM, and snapping clip lengths to the beats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assembly.beats import SAMPLE_RATE, BeatGrid, detect_beats, snap_clips_to_beats
from assembly.render.layout import plan_layout
from assembly.render.media import SourceInfo
from assembly.timeline import Clip, Timeline, Transition, TransitionKind

FPS = 24


def drum_track(
    bpm: float, seconds: float, first_beat: float, *, offbeat_hats: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Mono PCM: a chord pad, a kick on each beat and (optionally) hi-hats between them."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pcm = 0.05 * np.sin(2 * math.pi * 220 * t) + 0.03 * np.sin(2 * math.pi * 277 * t)
    period = 60 / bpm
    beats = np.arange(first_beat, seconds - 0.2, period)
    rng = np.random.default_rng(7)
    n = int(0.15 * SAMPLE_RATE)
    tt = np.arange(n) / SAMPLE_RATE
    kick = np.sin(2 * math.pi * (60 + 60 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 18)
    for beat in beats:
        start = int(beat * SAMPLE_RATE)
        piece = kick[: len(pcm) - start]
        pcm[start : start + len(piece)] += 0.8 * piece
        hat = int((beat + period / 2) * SAMPLE_RATE)
        m = int(0.03 * SAMPLE_RATE)
        if offbeat_hats and hat + m < len(pcm):
            pcm[hat : hat + m] += (
                0.15 * rng.standard_normal(m) * np.exp(-np.arange(m) / SAMPLE_RATE * 150)
            )
    return pcm.astype(np.float32), beats


@pytest.mark.parametrize("bpm", [90.0, 100.0, 128.0, 150.0])
def test_tempo_and_beats_are_found_on_the_kick_not_the_offbeat_hats(bpm: float) -> None:
    pcm, truth = drum_track(bpm, 20.0, first_beat=0.4)
    grid = detect_beats(pcm)

    assert grid.tempo_bpm == pytest.approx(bpm, rel=0.01)
    detected = np.asarray(grid.beats)
    errors = [np.abs(detected - beat).min() for beat in truth[1:-1]]
    assert max(errors) < 0.5 / FPS
    assert len(detected) <= len(truth) + 1  # no off-beats among them


def test_a_slow_song_with_busy_hats_may_be_read_in_double_time_but_keeps_every_kick() -> None:
    # At 72 BPM, kicks and off-beat hats make an even 144 BPM pulse: either reading is
    # musical, and cuts on the faster grid still fall on the song's beats.
    pcm, truth = drum_track(72.0, 20.0, first_beat=0.4)
    grid = detect_beats(pcm)

    assert min(abs(grid.tempo_bpm - 72.0), abs(grid.tempo_bpm - 144.0)) < 1.5
    detected = np.asarray(grid.beats)
    assert max(np.abs(detected - beat).min() for beat in truth[1:-1]) < 0.5 / FPS


def test_silence_has_no_beats() -> None:
    grid = detect_beats(np.zeros(SAMPLE_RATE * 5, dtype=np.float32))
    assert grid.beats == ()


def source(frames: int) -> SourceInfo:
    return SourceInfo(
        path="c.mp4",
        codec="h264",
        width=1280,
        height=720,
        pix_fmt="yuv420p",
        frames=frames,
        fps_num=FPS,
        fps_den=1,
        cfr=True,
        time_base_num=1,
        time_base_den=12288,
        extradata_sha256="x",
        cut_points=(*range(0, frames, 12), frames),
    )


@pytest.mark.parametrize("kind", [TransitionKind.CUT, TransitionKind.CROSSFADE])
def test_snapping_puts_every_cut_within_a_frame_of_a_beat(kind: TransitionKind) -> None:
    beats = tuple(0.35 + i * 0.6 for i in range(40))  # 100 BPM
    timeline = Timeline(
        clips=[Clip(path=f"c{i}.mp4") for i in range(5)],
        transition=Transition(kind=kind, duration=0.5),
    )
    sources = [source(120)] * 5

    snapped = snap_clips_to_beats(timeline, sources, BeatGrid(tempo_bpm=100.0, beats=beats))
    layout = plan_layout(snapped, sources)

    cuts = [frame / FPS for frame in layout.cut_frames()] + [layout.duration]
    for cut in cuts:
        assert min(abs(cut - b) for b in beats) <= 1 / FPS
    # Shortened, never lengthened, and by less than one beat each.
    for segment in layout.clip_segments():
        assert 120 - 0.6 * FPS - 1 <= segment.length <= 120


def test_a_clip_that_reaches_no_beat_is_left_alone() -> None:
    timeline = Timeline(
        clips=[Clip(path="a.mp4"), Clip(path="b.mp4")], transition=Transition(duration=0.5)
    )
    sources = [source(120), source(120)]
    snapped = snap_clips_to_beats(timeline, sources, BeatGrid(tempo_bpm=10.0, beats=(30.0,)))
    assert snapped == timeline
