"""Beat-synced cuts: find the music's beats with numpy and trim clips so cuts land on them.

Detection is the classic pipeline, small enough to read in one sitting:

1. decode the track to mono PCM (ffmpeg) at :data:`SAMPLE_RATE`;
2. onset strength: spectral flux over log-spaced frequency bands, each band's power
   compressed by a cube root (roughly perceived loudness), with the slow trend removed —
   how much new sound appears in each short frame;
3. tempo: the autocorrelation of the onset strength, weighted towards common tempi so a
   half- or double-time reading loses to the felt pulse;
4. beats: dynamic programming (Ellis, 2007) picks the onset peaks that best fit that tempo,
   allowing it to drift a little.

Snapping is pure arithmetic on the timeline: each clip is cut on the latest beat it can
reach, so every cut falls on a beat and each clip lasts a whole number of beats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from assembly.ffmpeg import ffmpeg_cmd
from assembly.process import run_ffmpeg
from assembly.render.layout import SegmentKind, plan_layout, source_frames_at
from assembly.render.media import SourceInfo
from assembly.timeline import Timeline

SAMPLE_RATE = 22_050
FFT_SIZE = 1024
HOP = 256
BANDS = 40
BAND_LOW_HZ = 30.0
MIN_BPM = 60.0
MAX_BPM = 200.0
#: Centre and spread (in octaves) of the tempo prior.
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.0
#: How strongly the beat tracker sticks to the tempo (Ellis's "tightness").
TIGHTNESS = 100.0
#: A clip is never cut shorter than this to reach a beat (seconds).
MIN_CLIP_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class BeatGrid:
    """Detected beats, in seconds from the start of the music as played."""

    tempo_bpm: float
    beats: tuple[float, ...]


async def load_pcm(path: str | Path, workdir: Path, *, start: float = 0.0) -> np.ndarray:
    """The track from ``start`` on as mono float32 PCM at :data:`SAMPLE_RATE`."""
    raw = workdir / "beats.f32"
    seek = ["-ss", f"{start:.6f}"] if start > 0 else []
    await run_ffmpeg(
        ffmpeg_cmd(
            *seek,
            "-i",
            str(path),
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "f32le",
            str(raw),
        )
    )
    try:
        return np.fromfile(raw, dtype="<f4")
    finally:
        raw.unlink(missing_ok=True)


async def detect_beats_in_file(path: str | Path, workdir: Path, *, start: float = 0.0) -> BeatGrid:
    return detect_beats(await load_pcm(path, workdir, start=start), SAMPLE_RATE)


def _band_matrix(sample_rate: int) -> np.ndarray:
    """Sums FFT power bins into :data:`BANDS` log-spaced bands (a mel-like filter bank).

    Grouping high frequencies into few wide bands keeps a broadband hi-hat from outvoting
    the kick and snare that carry the beat, as it would if every bin counted alike. (A
    log scale per band would do the opposite: a hat rising out of a silent band is a huge
    relative jump, so loudness-like cube-root compression is used instead.)
    """
    frequencies = np.fft.rfftfreq(FFT_SIZE, 1 / sample_rate)
    edges = np.geomspace(BAND_LOW_HZ, sample_rate / 2, BANDS + 1)
    band = np.searchsorted(edges, frequencies, side="right") - 1
    matrix = np.zeros((frequencies.size, BANDS), dtype=np.float32)
    inside = (band >= 0) & (band < BANDS)
    matrix[np.nonzero(inside)[0], band[inside]] = 1.0
    return matrix[:, matrix.any(axis=0)]


def onset_strength(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Onset strength (band-wise spectral flux), one value per hop of :data:`HOP` samples.

    Value ``i`` describes the change into the analysis frame centred on sample
    ``i * HOP + FFT_SIZE / 2``.
    """
    if pcm.size < FFT_SIZE * 2:
        return np.zeros(0, dtype=np.float32)
    window = np.hanning(FFT_SIZE).astype(np.float32)
    bands = _band_matrix(sample_rate)
    frames = 1 + (pcm.size - FFT_SIZE) // HOP
    flux = np.empty(frames, dtype=np.float32)
    previous = None
    block = 4096  # frames per FFT batch: bounded memory for long tracks
    for first in range(0, frames, block):
        count = min(block, frames - first)
        index = (first + np.arange(count))[:, None] * HOP + np.arange(FFT_SIZE)[None, :]
        power = np.abs(np.fft.rfft(pcm[index] * window, axis=1)).astype(np.float32) ** 2
        loudness = np.cbrt(power @ bands)
        stacked = loudness if previous is None else np.vstack([previous, loudness])
        diff = np.maximum(np.diff(stacked, axis=0), 0).mean(axis=1)
        if previous is None:
            diff = np.concatenate([[0.0], diff])
        flux[first : first + count] = diff
        previous = loudness[-1:]
    # Remove the slow trend (a moving average over ~0.4 s) so loud passages don't dominate.
    width = max(1, int(0.4 * sample_rate / HOP))
    trend = np.convolve(flux, np.ones(width) / width, mode="same")
    envelope = np.maximum(flux - trend, 0)
    peak = envelope.max(initial=0)
    return envelope / peak if peak > 0 else envelope


def estimate_period(envelope: np.ndarray, rate: float) -> float:
    """The beat period in envelope frames (fractional), from a tempo-weighted autocorrelation."""
    n = envelope.size
    size = 1 << math.ceil(math.log2(2 * n))
    spectrum = np.fft.rfft(envelope - envelope.mean(), size)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), size)[:n]
    min_lag = max(1, int(rate * 60 / MAX_BPM))
    max_lag = min(n - 1, math.ceil(rate * 60 / MIN_BPM))
    if max_lag <= min_lag + 2:
        raise ValueError("the track is too short to find a tempo")
    lags = np.arange(min_lag, max_lag + 1)
    bpm = 60 * rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    scores = autocorrelation[lags] * prior
    best = int(np.argmax(scores))
    lag = float(lags[best])
    if 0 < best < len(lags) - 1:
        left, centre, right = autocorrelation[lags[best - 1 : best + 2]]
        denominator = left - 2 * centre + right
        if denominator < 0:
            lag += 0.5 * (left - right) / denominator
    return lag


def track_beats(envelope: np.ndarray, period: float) -> np.ndarray:
    """Envelope frames of the beats: the onset peaks that best keep to ``period``."""
    n = envelope.size
    score = envelope.astype(np.float64).copy()
    backlink = np.full(n, -1, dtype=np.int64)
    lo, hi = round(period / 2), round(2 * period)
    offsets = np.arange(lo, hi + 1)
    penalty = -TIGHTNESS * np.log(offsets / period) ** 2
    for t in range(lo, n):
        candidates = t - offsets
        valid = candidates >= 0
        if not valid.any():
            continue
        values = np.where(valid, score[np.maximum(candidates, 0)] + penalty, -np.inf)
        best = int(np.argmax(values))
        if values[best] > 0:
            score[t] += values[best]
            backlink[t] = candidates[best]
    # End on the best-scoring frame in the last period (a beat near the end).
    tail = max(0, n - round(period))
    t = tail + int(np.argmax(score[tail:]))
    beats = [t]
    while backlink[t] >= 0:
        t = int(backlink[t])
        beats.append(t)
    return np.array(beats[::-1], dtype=np.int64)


def detect_beats(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> BeatGrid:
    """Tempo and beat times (seconds) of mono PCM."""
    envelope = onset_strength(pcm, sample_rate)
    rate = sample_rate / HOP
    if envelope.size == 0 or not envelope.any():
        return BeatGrid(tempo_bpm=0.0, beats=())
    period = estimate_period(envelope, rate)
    frames = track_beats(envelope, period)
    # Keep only beats that sit on a real onset: the tracker may bridge silent stretches.
    frames = frames[envelope[frames] > 0.05]
    times = (frames * HOP + FFT_SIZE / 2) / sample_rate
    return BeatGrid(tempo_bpm=60 * rate / period, beats=tuple(float(t) for t in times))


def snap_clips_to_beats(
    timeline: Timeline, sources: Sequence[SourceInfo], grid: BeatGrid
) -> Timeline:
    """The timeline with each clip trimmed so the cut after it lands on a beat.

    The cut after a clip is the middle of the transition out of it (the end of the video
    for the last clip). Each clip is cut on the latest beat it reaches without running out
    of frames, but never shorter than :data:`MIN_CLIP_SECONDS` plus its transitions; a clip
    that cannot reach any beat is left as it is. Clips are only ever shortened.
    """
    if not grid.beats:
        return timeline
    fps = timeline.fps
    beats = np.asarray(grid.beats) * fps
    clips = list(timeline.clips)
    for index in range(len(clips)):
        layout = plan_layout(msgspec.structs.replace(timeline, clips=clips), sources)
        segment = next(
            s for s in layout.segments if s.kind is SegmentKind.CLIP and s.clip_index == index
        )
        available = source_frames_at(sources[index], fps) - segment.source_start
        half = segment.tail / 2
        earliest = segment.out_start + segment.head + segment.tail + MIN_CLIP_SECONDS * fps - half
        latest = segment.out_start + available - half
        reachable = beats[(beats >= earliest) & (beats <= latest + 1e-9)]
        if reachable.size == 0:
            continue
        length = math.floor(reachable[-1] + half - segment.out_start + 0.5)
        length = min(length, available)
        clips[index] = msgspec.structs.replace(
            clips[index], trim_end=(segment.source_start + length) / fps
        )
    return msgspec.structs.replace(timeline, clips=clips)
