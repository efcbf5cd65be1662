"""The music generator's building blocks: pitches, envelopes, chords, melodies, grooves,
instruments, drums, effects and mastering, and the track definitions themselves.

Nothing here runs ffmpeg; the built library is checked in
``tests/integration/test_music_library.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest

from assembly.musicgen import synth
from assembly.musicgen.compose import (
    Key,
    Section,
    SongPlan,
    chord,
    compose,
    groove,
    melody,
    progression,
    voice_chord,
)
from assembly.musicgen.library import (
    LEAD_IN_SECONDS,
    PEAK_CEILING,
    TARGET_LUFS,
    TRACKS,
    Drum,
    Player,
    TrackDefinition,
    render_track,
)
from tests.paths import REPO_ROOT

RATE = synth.SAMPLE_RATE


def tiny_track() -> TrackDefinition:
    """A three-bar song with every kind of part, cheap enough to render in a unit test."""
    return TrackDefinition(
        slug="tiny",
        title="Tiny",
        mood="test",
        description="Three bars.",
        bpm=120,
        highlight="A",
        plan=SongPlan(
            key=Key.parse("C major"),
            beats_per_bar=4,
            seed=5,
            sections=(
                Section(
                    "A", 2, "I V", frozenset({"pad", "keys", "bass", "melody", "arp"}), "beat", "a"
                ),
            ),
            grooves={
                "beat": {
                    "kick": "X...x...X...x...",
                    "snare": "....X.......X...",
                    "hat": "x.x.x.x.x.x.x.x.",
                }
            },
        ),
        band={
            "pad": Player(synth.Pad(harmonics=4), level=-28, spread=0.5, reverb=0.3),
            "keys": Player(synth.ElectricPiano(), level=-24, humanise=0.004),
            "arp": Player(synth.Pluck(partials=6), level=-27, echo=0.3),
            "bass": Player(synth.Bass(), level=-23),
            "melody": Player(synth.SoftLead(), level=-21, reverb=0.2, humanise=0.004),
        },
        kit={
            "kick": Drum(synth.kick, level=-22),
            "snare": Drum(synth.snare, level=-24, reverb=0.2),
            "hat": Drum(synth.hat, level=-30),
            "cymbal": Drum(synth.cymbal, level=-28),
        },
    )


# --- pitch and envelopes -----------------------------------------------------------------


def test_midi_notes_map_to_equal_tempered_frequencies_around_a440() -> None:
    assert synth.midi_to_hz(69) == pytest.approx(440.0)
    assert synth.midi_to_hz(60) == pytest.approx(261.6256, abs=1e-3)
    assert synth.midi_to_hz(81) == pytest.approx(880.0)
    semitones = np.asarray(synth.midi_to_hz(np.arange(48, 61)))
    assert np.allclose(semitones[1:] / semitones[:-1], 2 ** (1 / 12))


def test_adsr_rises_to_one_decays_to_sustain_and_releases_to_exact_silence() -> None:
    env = synth.adsr(1.0, attack=0.1, decay=0.05, sustain=0.6, release=0.5)
    assert env.size == synth.samples(1.0) + synth.samples(0.5)
    assert env[0] == 0.0
    assert np.all(np.diff(env[: synth.samples(0.1)]) > 0)
    assert env.max() == pytest.approx(1.0, abs=1e-3)
    assert int(np.argmax(env)) == pytest.approx(synth.samples(0.1), abs=2)
    assert env[synth.samples(0.95)] == pytest.approx(0.6, abs=0.01)
    release = env[synth.samples(1.0) :]
    assert np.all(np.diff(release) <= 0)
    assert release[-1] == 0.0
    assert release[0] == pytest.approx(0.6, abs=0.01)


def test_a_note_released_during_its_attack_releases_from_where_it_got_to() -> None:
    env = synth.adsr(0.05, attack=0.2, decay=0.1, sustain=0.8, release=0.1)
    assert env.max() == pytest.approx(0.25, abs=0.01)
    assert env[-1] == 0.0


def test_release_curve_falls_sixty_decibels_and_ends_on_zero() -> None:
    curve = synth.release_curve(0.4)
    assert curve[0] == 1.0
    assert curve[-1] == 0.0
    assert 20 * np.log10(curve[int(curve.size * 0.9)]) < -50


def test_harmonic_sums_match_summed_sines() -> None:
    t = np.arange(4800) / RATE
    cycles = 220.0 * t + 0.3
    levels = np.array([1.0, 0.5, 0.0, 0.25, 0.1], dtype=np.float32)
    direct = sum(level * np.sin(2 * np.pi * k * cycles) for k, level in enumerate(levels, start=1))
    assert np.allclose(synth.harmonic_sum(cycles, levels), direct, atol=1e-4)
    fading = levels[:, None] * np.linspace(1, 0, t.size, dtype=np.float32)[None, :]
    assert np.allclose(
        synth.harmonic_sum(cycles, fading), direct * np.linspace(1, 0, t.size), atol=1e-4
    )


# --- keys, chords, voicings --------------------------------------------------------------


def test_keys_parse_and_list_their_scales() -> None:
    d_major = Key.parse("D major")
    assert d_major.name == "D major"
    assert d_major.pitch_classes == (2, 4, 6, 7, 9, 11, 1)
    assert Key.parse("Eb major").tonic == 3
    assert Key.parse("A minor").pitch_classes == (9, 11, 0, 2, 4, 5, 7)
    assert Key.parse("C major").scale_notes(60, 72) == [60, 62, 64, 65, 67, 69, 71, 72]
    with pytest.raises(ValueError):
        Key.parse("H major")
    with pytest.raises(ValueError):
        Key.parse("C bebop")


@pytest.mark.parametrize(
    ("key", "numeral", "symbol", "pitch_classes"),
    [
        ("C major", "I", "C", (0, 4, 7)),
        ("C major", "vi", "Am", (9, 0, 4)),
        ("C major", "V7", "G7", (7, 11, 2, 5)),
        ("C major", "iv", "Fm", (5, 8, 0)),
        ("C major", "bVII", "Bb", (10, 2, 5)),
        ("C major", "viio", "Bdim", (11, 2, 5)),
        ("Eb major", "IVmaj7", "Abmaj7", (8, 0, 3, 7)),
        ("Eb major", "ii7", "Fm7", (5, 8, 0, 3)),
        ("C minor", "VI", "Ab", (8, 0, 3)),
        ("G major", "Vsus4", "Dsus4", (2, 7, 9)),
        ("F major", "Iadd9", "Fadd9", (5, 9, 0, 7)),
    ],
)
def test_roman_numerals_name_the_chords_of_the_key(
    key: str, numeral: str, symbol: str, pitch_classes: tuple[int, ...]
) -> None:
    named = chord(Key.parse(key), numeral)
    assert named.symbol == symbol
    assert named.pitch_classes == pitch_classes


@pytest.mark.parametrize("numeral", ["VIII", "x", "I13", "", "Imaj"])
def test_unknown_numerals_are_refused(numeral: str) -> None:
    with pytest.raises(ValueError):
        chord(Key.parse("C major"), numeral)


PROGRESSIONS = [
    ("C major", "I V vi IV"),
    ("D major", "IV V iii vi ii V I I"),
    ("Eb major", "Imaj7 iii7 IVmaj7 iv"),
    ("E major", "Imaj7 II vi7 IVmaj7"),
    ("A minor", "i VI III VII"),
]


@pytest.mark.parametrize(("key", "numerals"), PROGRESSIONS)
def test_voicings_hold_the_chord_in_range_and_move_smoothly(key: str, numerals: str) -> None:
    chords = progression(Key.parse(key), numerals) * 2
    previous = None
    for harmony in chords:
        voicing = voice_chord(harmony, previous, low=52, high=74)
        assert len(voicing) == 4
        assert list(voicing) == sorted(set(voicing))
        assert all(52 <= note <= 74 for note in voicing)
        classes = {note % 12 for note in voicing}
        assert classes <= set(harmony.pitch_classes)
        assert harmony.pitch_classes[0] in classes and harmony.pitch_classes[1] in classes
        assert 1 not in np.diff(voicing), f"semitone clash in {harmony.symbol}: {voicing}"
        if previous is not None:
            movement = int(np.abs(np.subtract(voicing, previous)).sum())
            assert movement <= 10, f"{harmony.symbol} jumps {movement} semitones from {previous}"
        previous = voicing


def test_a_chord_that_cannot_fit_the_range_is_an_error() -> None:
    with pytest.raises(ValueError):
        voice_chord(chord(Key.parse("C major"), "I"), low=60, high=63)


# --- melodies and grooves ----------------------------------------------------------------


def tune(seed: int) -> tuple[Key, list, list]:
    key = Key.parse("G major")
    chords = list(progression(key, "I vi IV V I vi ii V I IV V I"))
    return key, chords, melody(key, chords, seed, beats_per_bar=4, low=67, high=83, density=1)


@pytest.mark.parametrize("seed", range(8))
def test_melodies_stay_in_key_and_range_land_on_chord_tones_and_resolve(seed: int) -> None:
    key, chords, notes = tune(seed)
    assert notes
    for note in notes:
        harmony = chords[int(note.beat // 4)]
        assert 67 <= note.pitch <= 83
        assert note.pitch % 12 in set(key.pitch_classes) | set(harmony.pitch_classes)
        if note.beat % 2 == 0:
            assert note.pitch % 12 in harmony.pitch_classes, (
                f"strong-beat {note} is not in {harmony.symbol}"
            )
    assert notes[-1].pitch % 12 == key.tonic
    assert all(b.beat >= a.beat + a.beats - 1e-9 for a, b in pairwise(notes)), (
        "melody notes overlap"
    )
    leaps = [abs(b.pitch - a.pitch) for a, b in pairwise(notes)]
    assert max(leaps) <= 12 and np.mean(leaps) < 4, "a tune moves mostly by step"
    assert len({note.pitch % 12 for note in notes}) >= 5


def test_a_melody_is_fixed_by_its_seed() -> None:
    assert tune(3)[2] == tune(3)[2]
    assert tune(3)[2] != tune(4)[2]


def test_grooves_put_step_patterns_on_the_beat_grid() -> None:
    hits = groove({"kick": "X...x...", "hat": "o.o.o.o."}, beats_per_bar=4, bars=2, start_beat=8)
    kicks = [(h.beat, h.velocity) for h in hits if h.drum == "kick"]
    assert kicks == [(8.0, 1.0), (10.0, 0.75), (12.0, 1.0), (14.0, 0.75)]
    assert [h.beat for h in hits if h.drum == "hat"] == [
        8.0,
        9.0,
        10.0,
        11.0,
        12.0,
        13.0,
        14.0,
        15.0,
    ]
    waltz = groove({"kick": "X.. x.. x.."}, beats_per_bar=3, bars=1)
    assert [h.beat for h in waltz] == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        groove({"kick": "X..-"}, beats_per_bar=4, bars=1)


def test_a_song_is_laid_out_section_after_section_and_ends_on_a_held_tonic() -> None:
    score = compose(tiny_track().plan)
    assert [(s.name, s.start_beat, s.bars) for s in score.sections] == [
        ("A", 0.0, 2),
        ("ending", 8.0, 1),
    ]
    assert score.total_beats == 12.0
    assert [c.symbol for c in score.chords] == ["C", "G", "C"]
    final = [note for notes in score.parts.values() for note in notes if note.beat == 8.0]
    assert {note.pitch % 12 for note in final} <= {0, 4, 7}
    assert {hit.drum for hit in score.drums if hit.beat == 8.0} == {"kick", "cymbal"}
    assert all(hit.beat * 4 == int(hit.beat * 4) for hit in score.drums), (
        "drums sit on the 16th grid"
    )
    assert all(hit.beat == int(hit.beat) for hit in score.drums if hit.drum == "kick")


def test_composing_does_not_depend_on_the_interpreter_hash_seed() -> None:
    """Set iteration order changes with PYTHONHASHSEED; the score must not."""
    code = (
        "import hashlib; from assembly.musicgen.library import TRACKS; "
        "from assembly.musicgen.compose import compose; "
        "print(hashlib.sha256(repr([compose(t.plan) for t in TRACKS]).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


# --- instruments and drums ---------------------------------------------------------------

INSTRUMENTS = [
    synth.Piano(),
    synth.ElectricPiano(),
    synth.Pluck(),
    synth.Mallet(),
    synth.Pad(),
    synth.Strings(),
    synth.SoftLead(),
    synth.Bass(),
]


def dominant_frequency(sound: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(sound.size)))
    return float(np.fft.rfftfreq(sound.size, 1 / RATE)[np.argmax(spectrum)])


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: type(i).__name__)
def test_instruments_play_the_note_asked_for_without_clicks(instrument: synth.Instrument) -> None:
    note = instrument.render(57, 1.5, 0.7)
    assert note.dtype == np.float32
    assert np.isfinite(note).all()
    assert note.size >= synth.samples(1.5)
    assert np.abs(note).max() == pytest.approx(0.7, abs=1e-3)
    assert abs(note[0]) < 0.01 and note[-1] == 0.0
    assert dominant_frequency(note) == pytest.approx(220.0, rel=0.01)


def test_a_harder_strike_is_brighter() -> None:
    def brightness(sound: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(sound))
        freqs = np.fft.rfftfreq(sound.size, 1 / RATE)
        return float((spectrum * freqs).sum() / spectrum.sum())

    piano = synth.Piano()
    assert brightness(piano.render(60, 0.5, 1.0)) > 1.1 * brightness(piano.render(60, 0.5, 0.3))


def spectral_centroid(sound: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(sound)) ** 2
    return float((power * np.fft.rfftfreq(sound.size, 1 / RATE)).sum() / power.sum())


@pytest.mark.parametrize(
    ("drum", "low", "high"),
    [
        (synth.kick, 30, 200),
        (synth.tom, 60, 400),
        (synth.snare, 400, 5000),
        (synth.clap, 800, 3500),
        (synth.brush, 1500, 7000),
        (synth.rim, 400, 4000),
        (synth.shaker, 3000, 9000),
        (synth.hat, 6000, 14000),
        (synth.cymbal, 2500, 10000),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_drums_sit_in_their_own_frequency_range(drum, low: float, high: float) -> None:
    sound = drum()
    assert np.isfinite(sound).all()
    assert np.abs(sound).max() == pytest.approx(1.0)
    assert sound[-1] == 0.0
    assert low <= spectral_centroid(sound) <= high
    window = synth.samples(0.005)
    loudness = np.sqrt(
        np.mean(sound[: sound.size // window * window].reshape(-1, window) ** 2, axis=1)
    )
    reaches_half = int(np.argmax(loudness >= loudness.max() / 2))
    assert reaches_half * window <= synth.samples(0.01), "a drum hits at once"


def test_drum_noise_is_seeded() -> None:
    assert np.array_equal(synth.snare(seed=3), synth.snare(seed=3))
    assert not np.array_equal(synth.snare(seed=3), synth.snare(seed=4))


# --- effects and mastering ---------------------------------------------------------------


@pytest.mark.parametrize("pan", [-1.0, -0.4, 0.0, 0.3, 1.0])
def test_panning_keeps_the_power_constant(pan: float) -> None:
    left, right = synth.pan_gains(pan)
    assert left**2 + right**2 == pytest.approx(1.0)
    assert (left > right) == (pan < 0) or pan == 0


def test_reverb_impulse_is_a_decaying_decorrelated_stereo_tail() -> None:
    ir = synth.reverb_impulse(1.5)
    assert ir.shape[0] == 2
    predelay = synth.samples(0.018)
    assert not ir[:, :predelay].any()
    energy = ir[0].astype(np.float64) ** 2
    tenth = ir.shape[1] // 10
    assert energy[-tenth:].sum() < 1e-4 * energy[predelay : predelay + tenth].sum()
    assert abs(np.corrcoef(ir[0], ir[1])[0, 1]) < 0.2


def test_convolution_matches_numpy_convolve() -> None:
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(30_000).astype(np.float32)
    signal[10_000:20_000] = 0
    ir = rng.standard_normal((2, 700)).astype(np.float32)
    out = synth.convolve(signal, ir)
    for channel in range(2):
        expected = np.convolve(signal, ir[channel])[: signal.size]
        assert np.allclose(out[channel], expected, atol=1e-3)


def test_echo_repeats_bounce_between_the_channels_and_fade() -> None:
    click = np.zeros(10_000, dtype=np.float32)
    click[0] = 1.0
    echo = synth.ping_pong_echo(click, 1000, feedback=0.5, repeats=4)
    left, right = np.abs(echo).sum(axis=1)
    assert left > 0 and right > 0
    peaks = [np.abs(echo[(k - 1) % 2, k * 1000 : k * 1000 + 5]).sum() for k in range(1, 5)]
    assert all(b < a for a, b in pairwise(peaks))
    assert not echo[:, :1000].any()


def stereo_sine(amplitude: float, seconds: float, freq: float = 997.0) -> np.ndarray:
    t = np.arange(synth.samples(seconds)) / RATE
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave])


def test_loudness_reads_the_bs1770_reference_tone() -> None:
    # A full-scale 997 Hz sine reads -3.01 LKFS per channel: at 0.1 in both channels, -20.
    assert synth.integrated_loudness(stereo_sine(0.1, 5)) == pytest.approx(-20.0, abs=0.05)
    assert synth.integrated_loudness(stereo_sine(0.05, 5)) == pytest.approx(-26.02, abs=0.05)


def test_loudness_gates_out_silence_and_weights_bass_down() -> None:
    tone = stereo_sine(0.1, 20)
    with_silence = np.concatenate([np.zeros((2, synth.samples(10)), np.float32), tone], axis=1)
    assert synth.integrated_loudness(with_silence) == pytest.approx(-20.0, abs=0.1)
    assert synth.integrated_loudness(stereo_sine(0.1, 5, freq=40)) < -21.0
    assert synth.integrated_loudness(np.zeros((2, RATE), np.float32)) == float("-inf")


def test_limiter_holds_the_ceiling_and_leaves_quiet_passages_alone() -> None:
    rng = np.random.default_rng(7)
    audio = (rng.standard_normal((2, RATE * 2)) * 0.05).astype(np.float32)
    spikes = rng.integers(RATE, 2 * RATE, 40)
    audio[:, spikes] = 1.5
    limited = synth.limit(audio, 0.8)
    assert np.abs(limited).max() <= 0.8 + 1e-6
    assert np.array_equal(limited[:, : RATE // 2], audio[:, : RATE // 2])


def test_fades_start_and_end_in_silence() -> None:
    faded = synth.apply_fades(np.ones((2, RATE), np.float32), fade_in=0.1, fade_out=0.2)
    assert faded[0, 0] == 0.0 and faded[1, -1] == 0.0
    assert faded[0, RATE // 2] == 1.0
    assert np.all(np.diff(faded[0, -synth.samples(0.2) :]) <= 0)


# --- whole tracks ------------------------------------------------------------------------


def test_a_rendered_track_is_mastered_clean_and_deterministic() -> None:
    track = tiny_track()
    audio = render_track(track)
    assert audio.dtype == np.float32 and audio.shape[0] == 2
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= PEAK_CEILING + 1e-6
    assert synth.integrated_loudness(audio) == pytest.approx(TARGET_LUFS, abs=0.2)
    humanised = max(player.humanise for player in track.band.values())
    assert np.abs(audio[:, : synth.samples(LEAD_IN_SECONDS - humanised) - 1]).max() < 1e-5, (
        "silence before the first downbeat (but for a humanised early note)"
    )
    assert np.abs(audio[:, -100:]).max() < 1e-5, "the ending fades to silence"
    again = render_track(track)
    assert np.array_equal(audio, again)


def test_rendering_does_not_depend_on_the_interpreter_hash_seed() -> None:
    code = (
        "import hashlib; from tests.unit.test_musicgen import tiny_track; "
        "from assembly.musicgen.library import render_track; "
        "print(hashlib.sha256(render_track(tiny_track()).tobytes()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("3", "4")
    }
    assert len(digests) == 1
    assert digests == {hashlib.sha256(render_track(tiny_track()).tobytes()).hexdigest() + "\n"}


def test_drums_hit_exactly_on_the_sample_grid() -> None:
    """With a one-sample click for every drum, the rendered track shows where each hit
    landed: on the sample nearest its beat, at a tempo whose beat is not a whole number
    of samples."""

    def click() -> np.ndarray:
        return np.array([1.0], dtype=np.float32)

    bpm = 93
    track = TrackDefinition(
        slug="clicks",
        title="Clicks",
        mood="test",
        description="Clicks on the beat.",
        bpm=bpm,
        highlight="A",
        plan=SongPlan(
            key=Key.parse("C major"),
            beats_per_bar=4,
            sections=(Section("A", 3, "I", frozenset(), "beat"),),
            grooves={"beat": {"kick": "X...x...x...x..."}},
            final_hit=("kick",),
        ),
        band={},
        kit={"kick": Drum(click, level=-20, reverb=0.0)},
    )
    audio = render_track(track)
    landed = np.flatnonzero(np.abs(audio[0]) > 1e-3)
    expected = [synth.samples(LEAD_IN_SECONDS + beat * 60 / bpm) for beat in range(13)]
    assert landed.tolist() == expected


# --- the library's definitions -----------------------------------------------------------


def test_the_library_has_six_distinct_tracks_of_sixty_to_a_hundred_and_twenty_seconds() -> None:
    assert len(TRACKS) >= 6
    assert len({t.slug for t in TRACKS}) == len(TRACKS)
    assert len({t.mood for t in TRACKS}) == len(TRACKS)
    assert len({t.bpm for t in TRACKS}) == len(TRACKS)
    assert len({t.plan.key for t in TRACKS}) == len(TRACKS)
    for track in TRACKS:
        meta = track.meta(compose(track.plan))
        assert 60 <= meta.duration_seconds <= 120, meta
        assert meta.file == f"{track.slug}.m4a" and meta.preview_file == f"{track.slug}-preview.m4a"
        assert meta.generated and meta.beats_offset_seconds == LEAD_IN_SECONDS
        assert meta.description.endswith(".") and len(meta.description.split()) >= 12


@pytest.mark.parametrize("track", TRACKS, ids=lambda t: t.slug)
def test_every_track_is_fully_cast_and_has_an_intro_sections_and_an_ending(
    track: TrackDefinition,
) -> None:
    score = compose(track.plan)
    assert set(score.parts) == set(track.band), "every part has a player, every player a part"
    assert {hit.drum for hit in score.drums} == set(track.kit), (
        "every drum has a sound and is played"
    )
    names = [span.name for span in score.sections]
    assert names[0] == "intro" and names[-1] == "ending"
    assert track.highlight in names
    assert {"melody", "bass", "pad"} <= set(score.parts) or {"melody", "bass", "arp"} <= set(
        score.parts
    )
    distinct_sections = {(s.chords, s.parts, s.groove, s.theme) for s in track.plan.sections}
    assert len(distinct_sections) >= 4, "at least intro, A, B and outro differ"
    intro_drums = [h for h in score.drums if h.beat < score.sections[1].start_beat]
    main_drums = [h for h in score.drums if score.section(track.highlight).start_beat <= h.beat]
    assert len(intro_drums) / score.sections[1].start_beat < len(main_drums) / (
        score.total_beats - score.section(track.highlight).start_beat
    ), "the intro is lighter than the highlight"


def test_pitched_parts_never_clash_by_a_semitone_on_the_downbeat() -> None:
    for track in TRACKS:
        score = compose(track.plan)
        bpb = score.beats_per_bar
        for bar, harmony in enumerate(score.chords):
            sounding = [
                note.pitch % 12
                for name, notes in score.parts.items()
                if name != "melody"
                for note in notes
                if note.beat == bar * bpb
            ]
            for a, b in itertools.combinations(set(sounding), 2):
                assert (a - b) % 12 not in (1, 11) or {a, b} <= set(harmony.pitch_classes), (
                    f"{track.slug} bar {bar}: {a} against {b} over {harmony.symbol}"
                )
