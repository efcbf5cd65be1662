"""The built-in music library, built for real into a temporary directory.

The files are probed (codec, rate, channels, length), measured with ffmpeg's own EBU R128
meter, decoded and analysed with numpy to show they are music — chords and a melody in
the stated key, a beat at the stated tempo on the stated grid, an intro and an ending —
and rebuilt to show that an up-to-date library is left alone.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import pytest

from assembly.ffmpeg import ffmpeg_cmd
from assembly.musicgen import GENERATOR_VERSION, TrackMeta, build_library, load_library
from assembly.musicgen.compose import Key, compose
from assembly.musicgen.library import LIBRARY_FILE, PREVIEW_SECONDS, TRACKS, build_tracks
from assembly.probe import probe

pytestmark = pytest.mark.slow

RATE = 22_050
#: The whole library must build well within a minute on two idle cores: its CPU time
#: (Python and its ffmpeg children together) is kept under a minute, so under half a
#: minute of wall-clock time when both cores are free.
BUILD_CPU_BUDGET_SECONDS = 60.0
#: A bound on the wall-clock time that holds even on a busy machine.
BUILD_WALL_LIMIT_SECONDS = 120.0


@dataclass(frozen=True)
class Built:
    directory: Path
    tracks: list[TrackMeta]
    wall_seconds: float
    cpu_seconds: float


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the ffmpeg encoders)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    directory = tmp_path_factory.mktemp("music")
    cpu, wall = cpu_seconds(), time.perf_counter()
    tracks = build_library(directory)
    yield Built(directory, tracks, time.perf_counter() - wall, cpu_seconds() - cpu)


@pytest.fixture(scope="module")
def decoded(built: Built) -> dict[str, np.ndarray]:
    return {track.slug: decode(built.directory / track.file) for track in built.tracks}


# --- helpers -----------------------------------------------------------------------------


def decode(path: Path) -> np.ndarray:
    """The file as mono float32 PCM at :data:`RATE`, decoded by ffmpeg."""
    result = subprocess.run(
        ffmpeg_cmd("-i", str(path), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "pipe:1"),
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, dtype="<f4")


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBFS) from ffmpeg's ebur128 summary."""
    result = subprocess.run(
        ffmpeg_cmd(
            "-loglevel",
            "info",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated[1]), float(peak[1])


def magnitudes(pcm: np.ndarray, size: int, hop: int) -> np.ndarray:
    frames = 1 + (pcm.size - size) // hop
    index = np.arange(frames)[:, None] * hop + np.arange(size)[None, :]
    return np.abs(np.fft.rfft(pcm[index] * np.hanning(size).astype(np.float32), axis=1))


def onset_envelope(
    pcm: np.ndarray, *, size: int = 1024, hop: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Spectral flux (rises in cube-root-compressed power, summed over bins) and the
    time of each value: the centre of the frame the change leads into."""
    loudness = np.cbrt(magnitudes(pcm, size, hop) ** 2)
    flux = np.maximum(np.diff(loudness, axis=0), 0.0).sum(axis=1)
    times = (np.arange(1, loudness.shape[0]) * hop + size / 2) / RATE
    return flux, times


def chroma(pcm: np.ndarray, *, window_seconds: float = 2.0) -> np.ndarray:
    """Energy per pitch class (C=0 .. B=11) in consecutive windows, from 65 Hz to 2.1 kHz."""
    size = hop = 4096
    power = magnitudes(pcm, size * 2, hop) ** 2
    freqs = np.fft.rfftfreq(size * 2, 1 / RATE)
    band = (freqs > 65) & (freqs < 2100)
    classes = np.round(12 * np.log2(freqs[band] / 440) + 69).astype(int) % 12
    per_frame = np.stack([power[:, band][:, classes == pc].sum(axis=1) for pc in range(12)], axis=1)
    per_window = max(1, int(window_seconds * RATE / hop))
    usable = per_frame.shape[0] // per_window * per_window
    windows = per_frame[:usable].reshape(-1, per_window, 12).sum(axis=1)
    return windows[windows.sum(axis=1) > 0.01 * windows.sum(axis=1).max()]


def rms_db(pcm: np.ndarray, start: float, end: float) -> float:
    piece = pcm[int(start * RATE) : int(end * RATE)].astype(np.float64)
    return float(10 * np.log10(np.mean(piece**2) + 1e-24))


def mtimes(directory: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in directory.iterdir()}


# --- the build ---------------------------------------------------------------------------


def test_the_library_builds_within_its_time_budget(built: Built) -> None:
    print(f"music library built in {built.wall_seconds:.1f} s ({built.cpu_seconds:.1f} s of CPU)")
    assert built.cpu_seconds < BUILD_CPU_BUDGET_SECONDS
    assert built.wall_seconds < BUILD_WALL_LIMIT_SECONDS


def test_library_json_lists_every_track_with_its_files(built: Built) -> None:
    raw = msgspec.json.decode((built.directory / LIBRARY_FILE).read_bytes())
    assert raw["version"] == GENERATOR_VERSION
    assert load_library(built.directory) == built.tracks
    assert len(built.tracks) >= 6
    assert len({t.mood for t in built.tracks}) == len(built.tracks)
    assert len({t.bpm for t in built.tracks}) == len(built.tracks)
    assert len({t.key for t in built.tracks}) == len(built.tracks)
    expected = {LIBRARY_FILE} | {name for t in built.tracks for name in (t.file, t.preview_file)}
    assert {path.name for path in built.directory.iterdir()} == expected
    for track in built.tracks:
        entry = next(e for e in raw["tracks"] if e["slug"] == track.slug)
        assert entry["generated"] is True
        assert set(entry) >= {
            "slug", "title", "mood", "bpm", "key", "duration_seconds", "file",
            "preview_file", "description", "generated", "beats_offset_seconds",
        }  # fmt: skip


def test_load_library_without_a_build_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_library(tmp_path)


def test_every_track_is_stereo_48k_aac_of_sixty_to_a_hundred_and_twenty_seconds(
    built: Built,
) -> None:
    for track in built.tracks:
        info = probe(built.directory / track.file, count_frames=False)
        assert info.video is None and info.audio is not None
        assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48_000, 2)
        assert 60 <= info.duration <= 120
        assert info.duration == pytest.approx(track.duration_seconds, abs=0.05)
        kbps = info.size_bytes * 8 / info.duration / 1000
        assert 130 <= kbps <= 190, f"{track.slug}: {kbps:.0f} kb/s"


def test_every_preview_is_about_fifteen_seconds_of_the_same_format(built: Built) -> None:
    for track in built.tracks:
        info = probe(built.directory / track.preview_file, count_frames=False)
        assert info.audio is not None
        assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48_000, 2)
        assert info.duration == pytest.approx(PREVIEW_SECONDS, abs=0.1)


def test_tracks_and_previews_are_at_minus_sixteen_lufs_without_clipping(built: Built) -> None:
    """Measured by ffmpeg's EBU R128 meter on the encoded files; the true peak (between
    samples, as a DAC reconstructs it) stays below full scale with room to spare."""
    for track in built.tracks:
        for name in (track.file, track.preview_file):
            loudness, true_peak = ebur128(built.directory / name)
            assert loudness == pytest.approx(-16.0, abs=1.5), name
            assert true_peak <= -0.5, f"{name}: true peak {true_peak} dBFS"


# --- is it music? ------------------------------------------------------------------------


def test_the_beat_sits_on_the_stated_grid(built: Built, decoded: dict[str, np.ndarray]) -> None:
    """Onsets pile up within 15 ms of ``beats_offset_seconds + n * 60 / bpm``: folded
    onto one beat, the onset strength peaks at the grid, and is several times stronger
    there than away from it."""
    for track in built.tracks:
        flux, times = onset_envelope(decoded[track.slug])
        beat = 60 / track.bpm
        position = (times - track.beats_offset_seconds) / beat
        distance = np.abs(position - np.round(position)) * beat
        on_grid = flux[distance < 0.015].mean()
        off_grid = flux[distance > 0.05].mean()
        assert on_grid > 2.5 * off_grid, f"{track.slug}: on/off grid {on_grid / off_grid:.2f}"
        bins = np.round((position % 1) * 48).astype(int) % 48
        folded = np.bincount(bins, weights=flux, minlength=48) / np.bincount(bins, minlength=48)
        assert int(np.argmax(folded)) in (47, 0, 1), (
            f"{track.slug}: onsets peak {np.argmax(folded)}/48 beat off"
        )


def test_the_onsets_repeat_at_the_stated_tempo(
    built: Built, decoded: dict[str, np.ndarray]
) -> None:
    for track in built.tracks:
        flux, _ = onset_envelope(decoded[track.slug])
        centred = flux - flux.mean()
        size = 1 << int(np.ceil(np.log2(2 * centred.size)))
        spectrum = np.fft.rfft(centred, size)
        autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), size)[: centred.size]
        autocorrelation /= autocorrelation[0]
        period = 60 / track.bpm * RATE / 128
        low, high = int(0.7 * period), int(1.3 * period) + 1
        peak = low + int(np.argmax(autocorrelation[low:high]))
        assert peak == pytest.approx(period, rel=0.02), (
            f"{track.slug}: repeats every {peak / period:.3f} beats"
        )
        assert autocorrelation[peak] > 0.3


def test_tracks_are_chords_and_melodies_in_their_key_not_test_tones(
    built: Built, decoded: dict[str, np.ndarray]
) -> None:
    for track in built.tracks:
        windows = chroma(decoded[track.slug])
        unit = windows / np.linalg.norm(windows, axis=1, keepdims=True)
        dominant = set(np.argmax(windows, axis=1).tolist())
        assert len(dominant) >= 4, f"{track.slug}: only {sorted(dominant)} ever dominate"
        sounding = (unit**2 >= 0.1 * (unit**2).max(axis=1, keepdims=True)).sum(axis=1)
        assert sounding.mean() >= 2.0, (
            f"{track.slug}: {sounding.mean():.1f} pitch classes at a time"
        )
        in_key = windows.sum(axis=0)[list(Key.parse(track.key).pitch_classes)].sum() / windows.sum()
        assert in_key >= 0.8, f"{track.slug}: {in_key:.0%} of the pitch energy is in {track.key}"
        change = (unit[:-2] * unit[2:]).sum(axis=1).mean()
        assert change < 0.9, f"{track.slug}: the harmony hardly moves (similarity {change:.2f})"


def test_tracks_start_on_the_downbeat_build_from_an_intro_and_fade_out(
    built: Built, decoded: dict[str, np.ndarray]
) -> None:
    for track in built.tracks:
        pcm = decoded[track.slug]
        offset, length = track.beats_offset_seconds, pcm.size / RATE
        assert rms_db(pcm, 0, offset - 0.02) < -70, "silence until the first downbeat"
        assert rms_db(pcm, offset, offset + 0.1) > -40, "the music starts on the downbeat"
        intro = rms_db(pcm, offset, offset + 4)
        middle = rms_db(pcm, length / 2 - 4, length / 2 + 4)
        assert intro < middle - 1.5, f"{track.slug}: intro {intro:.1f} dB vs middle {middle:.1f} dB"
        assert rms_db(pcm, length - 0.3, length) < -60, "it ends in silence"
        assert rms_db(pcm, length - 6, length - 3) > rms_db(pcm, length - 3, length - 0.3), (
            "it fades"
        )


# --- idempotence -------------------------------------------------------------------------


def test_building_again_leaves_an_up_to_date_library_alone(built: Built) -> None:
    before = mtimes(built.directory)
    started = time.perf_counter()
    again = build_library(built.directory)
    assert time.perf_counter() - started < 5.0
    assert again == built.tracks
    assert mtimes(built.directory) == before, "not a file was touched, library.json included"


def test_a_missing_or_outdated_track_is_rebuilt_alone(built: Built, tmp_path: Path) -> None:
    library = tmp_path / "music"
    shutil.copytree(built.directory, library)
    first, second = sorted(built.tracks, key=lambda t: t.duration_seconds)[:2]
    (library / first.preview_file).unlink()
    listed = msgspec.json.decode((library / LIBRARY_FILE).read_bytes())
    next(entry for entry in listed["tracks"] if entry["slug"] == second.slug)["title"] = (
        "An Older Title"
    )
    listed["tracks"].append(
        {
            **listed["tracks"][0],
            "slug": "retired",
            "file": "retired.m4a",
            "preview_file": "retired-preview.m4a",
        }
    )
    (library / "retired.m4a").write_bytes(b"old")
    (library / "retired-preview.m4a").write_bytes(b"old")
    (library / LIBRARY_FILE).write_bytes(msgspec.json.encode(listed))
    before = mtimes(library)

    tracks = build_library(library)

    after = mtimes(library)
    assert tracks == built.tracks
    rebuilt = {name for name in after if name != LIBRARY_FILE and after[name] != before.get(name)}
    assert rebuilt == {first.file, first.preview_file, second.file, second.preview_file}
    assert not (library / "retired.m4a").exists() and not (library / "retired-preview.m4a").exists()
    assert load_library(library) == built.tracks
    assert probe(library / first.preview_file, count_frames=False).duration == pytest.approx(
        PREVIEW_SECONDS, abs=0.1
    )


def test_a_new_generator_version_or_force_rebuilds(built: Built, tmp_path: Path) -> None:
    """Built alone (the rest of the library goes, as tracks no longer listed do): the
    track is replaced when library.json is from another generator version, and again
    when forced, into the same sound."""
    library = tmp_path / "music"
    shutil.copytree(built.directory, library)
    listed = msgspec.json.decode((library / LIBRARY_FILE).read_bytes())
    (library / LIBRARY_FILE).write_bytes(
        msgspec.json.encode({**listed, "version": GENERATOR_VERSION - 1})
    )
    shortest = min(TRACKS, key=lambda t: t.meta(compose(t.plan)).duration_seconds)
    first = next(t for t in built.tracks if t.slug == shortest.slug)
    before = mtimes(library)

    assert build_tracks(library, [shortest]) == [first]
    after_upgrade = mtimes(library)
    assert set(after_upgrade) == {LIBRARY_FILE, first.file, first.preview_file}
    assert after_upgrade[first.file] != before[first.file]

    build_tracks(library, [shortest])
    assert mtimes(library)[first.file] == after_upgrade[first.file]

    build_tracks(library, [shortest], force=True)
    assert mtimes(library)[first.file] != after_upgrade[first.file]
    assert np.array_equal(decode(library / first.file), decode(built.directory / first.file))
