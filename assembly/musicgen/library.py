"""The built-in music library: generated tracks, their previews, and ``library.json``.

Echoes ships no licensed music, so the library is synthesised at setup from the
definitions below (:data:`TRACKS`): each names its key, tempo, form, band and drum kit;
:mod:`~assembly.musicgen.compose` writes the notes and :mod:`~assembly.musicgen.synth`
plays them. Generation is deterministic, so every machine gets the same tracks.

The beat grid is exact: every drum hit sits on the sample nearest to
``beats_offset_seconds + n * 60 / bpm`` (pitched parts are humanised by a few
milliseconds at most), so the grid in the metadata is the truth a beat detector can be
tested against.

:func:`build_library` skips tracks whose files exist and whose metadata in
``library.json`` already matches, for the same :data:`GENERATOR_VERSION`; bump the
version whenever the sound changes.
"""

from __future__ import annotations

import contextlib
import functools
import math
import subprocess
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import structlog

from assembly.ffmpeg import ffmpeg_cmd
from assembly.musicgen import synth
from assembly.musicgen.compose import Key, Score, Section, SongPlan, Style, compose
from assembly.process import FFmpegError, atomic_output

log = structlog.get_logger(__name__)

GENERATOR_VERSION = 1
SAMPLE_RATE = synth.SAMPLE_RATE
#: Silence before the first downbeat, so its attack survives a player's fade-in and
#: the encoder's priming samples.
LEAD_IN_SECONDS = 0.25
#: Time after the final chord is struck for it (and the reverb) to ring and fade.
TAIL_SECONDS = 3.5
TARGET_LUFS = -16.0
#: Sample-peak ceiling (-1.5 dBFS), leaving room for the AAC encoder's overshoot.
PEAK_CEILING = 10 ** (-1.5 / 20)
PREVIEW_SECONDS = 15.0
PREVIEW_FADE_IN = 0.3
PREVIEW_FADE_OUT = 1.5
AUDIO_BITRATE = "160k"
LIBRARY_FILE = "library.json"


class TrackMeta(msgspec.Struct, frozen=True, kw_only=True):
    """One track of the library as ``library.json`` lists it (paths relative to it)."""

    slug: str
    title: str
    mood: str
    bpm: float
    key: str
    beats_per_bar: int
    duration_seconds: float
    file: str
    preview_file: str
    description: str
    #: Where the first downbeat is; beat n is at ``beats_offset_seconds + n * 60 / bpm``.
    beats_offset_seconds: float
    generated: bool = True


class Library(msgspec.Struct, frozen=True, kw_only=True):
    """``library.json``: the generator version that made the files, and the tracks."""

    version: int
    tracks: list[TrackMeta]


# --- track definitions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Player:
    """How one part of the score is played and placed in the mix. ``level`` is the
    part's loudness on its own, in LUFS where it plays (the finished track is then
    brought to :data:`TARGET_LUFS` as a whole, so only differences matter). ``spread`` pans
    low notes left and high notes right (as a piano sounds from the player's seat);
    ``humanise`` is the largest timing slip, in seconds."""

    instrument: synth.Instrument
    level: float
    pan: float = 0.0
    spread: float = 0.0
    reverb: float = 0.15
    echo: float = 0.0
    humanise: float = 0.0


@dataclass(frozen=True, slots=True)
class Drum:
    """One drum of a kit: its one-shot sound, level (as :attr:`Player.level`) and place."""

    sound: Callable[[], np.ndarray]
    level: float
    pan: float = 0.0
    reverb: float = 0.05


@dataclass(frozen=True, slots=True)
class TrackDefinition:
    """Everything that makes one track: what it is called and how it feels, its tempo,
    the song (:class:`~assembly.musicgen.compose.SongPlan`), who plays each part, the drum
    kit, and the room (reverb length, echo time in beats and feedback)."""

    slug: str
    title: str
    mood: str
    description: str
    bpm: float
    plan: SongPlan
    band: Mapping[str, Player]
    kit: Mapping[str, Drum]
    #: The section the preview is taken from (its first occurrence).
    highlight: str
    reverb_seconds: float = 2.0
    echo_beats: float = 0.75
    echo_feedback: float = 0.35

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def length_samples(self, score: Score) -> int:
        return synth.samples(
            LEAD_IN_SECONDS + score.total_beats * self.seconds_per_beat + TAIL_SECONDS
        )

    def meta(self, score: Score) -> TrackMeta:
        return TrackMeta(
            slug=self.slug,
            title=self.title,
            mood=self.mood,
            bpm=float(self.bpm),
            key=self.plan.key.name,
            beats_per_bar=self.plan.beats_per_bar,
            duration_seconds=round(self.length_samples(score) / SAMPLE_RATE, 3),
            file=f"{self.slug}.m4a",
            preview_file=f"{self.slug}-preview.m4a",
            description=self.description,
            beats_offset_seconds=LEAD_IN_SECONDS,
        )


def _sections(
    *rows: tuple[str, int, str, str, str | None, str | None, bool],
) -> tuple[Section, ...]:
    """Sections from compact rows: (name, bars, chords, parts, groove, theme, fill)."""
    return tuple(
        Section(name, bars, chords, frozenset(parts.split()), groove, theme, fill)
        for name, bars, chords, parts, groove, theme, fill in rows
    )


_P = functools.partial

GOLDEN_HOUR = TrackDefinition(
    slug="golden-hour",
    title="Golden Hour",
    mood="upbeat",
    description=(
        "A bright, sunny pop groove: electric piano chords and a rippling plucked arpeggio "
        "over a bouncy bass and a clapping beat, with a catchy bell-like melody on top."
    ),
    bpm=120,
    highlight="B",
    plan=SongPlan(
        key=Key.parse("D major"),
        beats_per_bar=4,
        seed=120,
        style=Style(
            comp=((0, 1.5), (1.5, 1.0), (3, 1.0)),
            arpeggio_order=(0, 1, 2, 3, 4, 3, 2, 1),
            bass=((0, 1.5, "root"), (1.5, 1.0, "root"), (2.5, 0.5, "fifth"), (3, 1.0, "octave")),
            melody_density=1,
            melody_range=(69, 83),
            chord_range=(57, 74),
            pad_range=(50, 67),
            bass_range=(38, 50),
            arpeggio_range=(62, 81),
        ),
        sections=_sections(
            ("intro", 4, "I V vi IV", "pad arp", "intro", None, False),
            ("A", 8, "I V vi IV", "pad keys bass melody", "verse", "a", True),
            ("B", 8, "IV V iii vi IV V I I", "pad keys arp bass melody", "chorus", "b", False),
            ("A2", 8, "I V vi IV", "pad keys arp bass melody harmony", "verse", "a", True),
            (
                "B2",
                8,
                "IV V iii vi IV V I I",
                "pad keys arp bass melody harmony",
                "chorus",
                "b",
                True,
            ),
            ("outro", 4, "I V vi IV", "pad keys arp", "intro", None, False),
        ),
        grooves={
            "intro": {"kick": "X.......X.......", "hat": "x...x...x...x..."},
            "verse": {
                "kick": "X.....x.X.......",
                "snare": "....X.......X...",
                "hat": "x.o.x.o.x.o.x.o.",
            },
            "chorus": {
                "kick": "X...X...X...X...",
                "snare": "....X.......X...",
                "clap": "....x.......x...",
                "hat": "x.o.x.o.x.o.x.o.",
                "open_hat": "..o...o...o...o.",
            },
        },
        fill={"kick": "X.......X.......", "snare": "....X...o.x.xxXX", "hat": "x.o.x.o.x......."},
        final_hit=("kick", "cymbal"),
        section_accent=("cymbal",),
    ),
    band={
        "pad": Player(synth.Pad(brightness=0.5), level=-29, spread=0.6, reverb=0.35),
        "keys": Player(synth.ElectricPiano(), level=-24, spread=0.5, reverb=0.2, humanise=0.004),
        "arp": Player(
            synth.Pluck(decay=0.8), level=-27, pan=0.15, spread=0.6, reverb=0.2, echo=0.25
        ),
        "bass": Player(synth.Bass(), level=-22, reverb=0.02),
        "melody": Player(
            synth.Mallet(
                ratios=(1.0, 2.0, 3.0, 4.1),
                levels=(1.0, 0.35, 0.12, 0.05),
                decays=(1.2, 0.5, 0.25, 0.1),
                ring=1.2,
            ),
            level=-20,
            reverb=0.25,
            echo=0.2,
            humanise=0.004,
        ),
        "harmony": Player(synth.SoftLead(), level=-27, pan=-0.3, reverb=0.3),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.3), level=-22),
        "snare": Drum(_P(synth.snare), level=-24, reverb=0.12),
        "clap": Drum(_P(synth.clap), level=-27, pan=0.1, reverb=0.15),
        "hat": Drum(_P(synth.hat), level=-31, pan=0.25),
        "open_hat": Drum(_P(synth.hat, decay=0.2, seed=16), level=-34, pan=0.25),
        "cymbal": Drum(_P(synth.cymbal), level=-32, pan=-0.2, reverb=0.2),
    },
)

HAND_IN_HAND = TrackDefinition(
    slug="hand-in-hand",
    title="Hand in Hand",
    mood="tender",
    description=(
        "A gentle waltz: a soft felt piano flowing in broken chords under a warm string pad, "
        "with a breathy flute-like melody and the lightest brush of percussion."
    ),
    bpm=84,
    highlight="B",
    echo_beats=1.0,
    plan=SongPlan(
        key=Key.parse("F major"),
        beats_per_bar=3,
        seed=84,
        style=Style(
            arpeggio_order=(0, 1, 2, 3, 2, 1),
            arpeggio_step=0.5,
            bass=((0, 3, "root"),),
            melody_density=1,
            melody_range=(65, 81),
            pad_range=(53, 70),
            bass_range=(36, 48),
            arpeggio_range=(53, 74),
        ),
        sections=_sections(
            ("intro", 4, "I vi IV V", "arp pad", None, None, False),
            ("A", 8, "I vi IV V I vi ii V", "arp pad bass melody", "soft", "a", False),
            ("B", 8, "IV V iii vi IV V ii V", "arp pad bass melody", "waltz", "b", False),
            ("A2", 8, "I vi IV V I vi ii V", "arp pad bass melody harmony", "waltz", "a", False),
            ("B2", 8, "IV V iii vi IV V ii V", "arp pad bass melody harmony", "waltz", "b", False),
            ("outro", 4, "I vi IV V", "arp pad bass", "soft", None, False),
        ),
        grooves={
            "soft": {"kick": "X...........", "rim": "....o...o..."},
            "waltz": {"kick": "X...........", "rim": "....x...x...", "shaker": "x.o.x.o.x.o."},
        },
        final_hit=("kick",),
    ),
    band={
        "arp": Player(
            synth.Piano(hardness=0.45), level=-21, spread=0.7, reverb=0.3, humanise=0.005
        ),
        "pad": Player(
            synth.Strings(attack=0.8, release=1.6, brightness=0.4),
            level=-27,
            spread=0.6,
            reverb=0.35,
        ),
        "bass": Player(synth.Bass(pluck=0.15, decay=2.0), level=-26, reverb=0.05),
        "melody": Player(
            synth.SoftLead(), level=-20, pan=0.05, reverb=0.35, echo=0.12, humanise=0.004
        ),
        "harmony": Player(synth.SoftLead(vibrato_cents=10), level=-27, pan=-0.35, reverb=0.35),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.25, click=0.1, sweep_hz=100), level=-27),
        "rim": Drum(_P(synth.rim), level=-30, pan=0.15, reverb=0.25),
        "shaker": Drum(_P(synth.shaker), level=-32, pan=-0.25, reverb=0.1),
    },
)

OLD_PHOTOGRAPHS = TrackDefinition(
    slug="old-photographs",
    title="Old Photographs",
    mood="nostalgic",
    description=(
        "A warm, unhurried lo-fi groove: mellow electric piano chords with a bittersweet "
        "turn, a round bass, brushed drums and a vibraphone melody that echoes softly."
    ),
    bpm=96,
    highlight="B",
    echo_beats=0.75,
    plan=SongPlan(
        key=Key.parse("Eb major"),
        beats_per_bar=4,
        seed=96,
        style=Style(
            comp=((0, 1.5), (1.5, 2.5)),
            bass=((0, 2.5, "root"), (2.5, 0.5, "fifth"), (3, 1.0, "octave")),
            melody_density=1,
            melody_range=(67, 82),
            chord_range=(55, 72),
            pad_range=(51, 68),
            bass_range=(36, 48),
        ),
        sections=_sections(
            ("intro", 4, "Imaj7 iii7 IVmaj7 iv", "keys pad", "brushes", None, False),
            ("A", 8, "Imaj7 iii7 IVmaj7 iv", "keys pad bass melody", "lofi", "a", False),
            (
                "B",
                8,
                "IVmaj7 V iii7 vi7 ii7 iii7 IVmaj7 V",
                "keys pad bass melody",
                "lofi",
                "b",
                True,
            ),
            ("A2", 8, "Imaj7 iii7 IVmaj7 iv", "keys pad bass melody harmony", "lofi", "a", False),
            ("outro", 4, "Imaj7 iii7 IVmaj7 iv", "keys pad bass", "brushes", None, False),
        ),
        grooves={
            "brushes": {"kick": "X.......X.......", "brush": "....x.......x..."},
            "lofi": {
                "kick": "X.....x...X.....",
                "brush": "....X.......X...",
                "hat": "x.o.x.o.x.o.x.o.",
            },
        },
        fill={"kick": "X.....x...X.....", "brush": "....X.......X.x.", "hat": "x.o.x.o.x.o....."},
        final_hit=("kick", "cymbal"),
        section_accent=("cymbal",),
    ),
    band={
        "keys": Player(
            synth.ElectricPiano(brightness=0.7, decay=2.2),
            level=-21,
            spread=0.6,
            reverb=0.25,
            humanise=0.006,
        ),
        "pad": Player(synth.Pad(brightness=0.35, attack=1.2), level=-29, spread=0.5, reverb=0.35),
        "bass": Player(synth.Bass(levels=(1.0, 0.35, 0.12, 0.04)), level=-22, reverb=0.03),
        "melody": Player(
            synth.Mallet(
                ratios=(1.0, 4.0, 10.0), levels=(1.0, 0.18, 0.04), decays=(1.8, 0.5, 0.12), ring=1.8
            ),
            level=-20,
            pan=0.1,
            reverb=0.3,
            echo=0.22,
            humanise=0.006,
        ),
        "harmony": Player(synth.SoftLead(), level=-28, pan=-0.3, reverb=0.35),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.28, click=0.15), level=-23),
        "brush": Drum(_P(synth.brush), level=-25, pan=0.05, reverb=0.12),
        "hat": Drum(_P(synth.hat, decay=0.03), level=-34, pan=0.3),
        "cymbal": Drum(_P(synth.cymbal, decay=1.8), level=-33, pan=-0.2, reverb=0.2),
    },
)

NEW_HORIZONS = TrackDefinition(
    slug="new-horizons",
    title="New Horizons",
    mood="cinematic",
    description=(
        "A hopeful, cinematic build: a piano ostinato and swelling strings grow into a full "
        "soaring theme over deep toms and a steady drum pulse."
    ),
    bpm=104,
    highlight="B",
    reverb_seconds=2.6,
    echo_beats=0.5,
    plan=SongPlan(
        key=Key.parse("C major"),
        beats_per_bar=4,
        seed=104,
        style=Style(
            comp=((0, 4),),
            arpeggio_order=(0, 2, 1, 2, 3, 2, 1, 2),
            arpeggio_step=0.5,
            bass=((0, 4, "root"),),
            melody_density=0,
            melody_range=(67, 84),
            chord_range=(48, 64),
            pad_range=(52, 72),
            bass_range=(33, 45),
            arpeggio_range=(60, 76),
        ),
        sections=_sections(
            ("intro", 4, "vi IV I V", "arp pad", None, None, False),
            ("A", 8, "vi IV I V", "arp pad bass melody", "pulse", "a", False),
            ("B", 8, "IV I V vi IV I V V", "arp pad bass keys melody", "drive", "b", False),
            ("A2", 8, "vi IV I V", "arp pad bass melody harmony", "drive", "a", False),
            ("B2", 8, "IV I V vi IV I V V", "arp pad bass keys melody harmony", "drive", "b", True),
            ("outro", 4, "vi IV I V", "arp pad", "pulse", None, False),
        ),
        grooves={
            "pulse": {
                "kick": "X.......X.......",
                "tom": "X.......x.......",
                "shaker": "x...x...x...x...",
            },
            "drive": {
                "kick": "X...X...X...X...",
                "snare": "....X.......X...",
                "tom": "X.......x.....o.",
                "hat": "x.o.x.o.x.o.x.o.",
            },
        },
        fill={"kick": "X...X...X...X...", "tom": "X...x...x.x.XxXx", "snare": "....X.......x.x."},
        final_hit=("kick", "tom", "cymbal"),
        section_accent=("cymbal",),
    ),
    band={
        "arp": Player(
            synth.Piano(hardness=0.6, decay=1.8), level=-23, spread=0.6, reverb=0.3, echo=0.1
        ),
        "pad": Player(synth.Strings(), level=-22, spread=0.8, reverb=0.4),
        "keys": Player(synth.Piano(hardness=0.5, decay=3.0), level=-25, spread=0.5, reverb=0.35),
        "bass": Player(
            synth.Strings(harmonics=8, brightness=0.4, voices=2, attack=0.3, release=0.6),
            level=-23,
            reverb=0.2,
        ),
        "melody": Player(
            synth.Strings(voices=3, detune_cents=6, attack=0.12, release=0.5, vibrato_cents=12),
            level=-20,
            reverb=0.4,
        ),
        "harmony": Player(
            synth.Strings(voices=3, attack=0.15, release=0.5, brightness=0.45),
            level=-25,
            pan=-0.3,
            reverb=0.4,
        ),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.4, pitch_hz=45), level=-22, reverb=0.1),
        "tom": Drum(_P(synth.tom), level=-24, pan=-0.1, reverb=0.25),
        "snare": Drum(_P(synth.snare, decay=0.2, tone_hz=170), level=-25, reverb=0.25),
        "hat": Drum(_P(synth.hat), level=-33, pan=0.3),
        "shaker": Drum(_P(synth.shaker), level=-32, pan=0.3),
        "cymbal": Drum(_P(synth.cymbal, decay=2.2), level=-31, reverb=0.3),
    },
)

PAPER_KITES = TrackDefinition(
    slug="paper-kites",
    title="Paper Kites",
    mood="playful",
    description=(
        "A skipping, cheerful tune: a marimba melody and glockenspiel sparkles over "
        "pizzicato chords, a bouncing bass, hand claps and a shaker."
    ),
    bpm=112,
    highlight="B",
    echo_beats=0.5,
    plan=SongPlan(
        key=Key.parse("G major"),
        beats_per_bar=4,
        seed=112,
        style=Style(
            comp=((0, 0.5), (1, 0.5), (2, 0.5), (3, 0.5)),
            bass=((0, 0.75, "root"), (1, 0.75, "fifth"), (2, 0.75, "octave"), (3, 0.75, "fifth")),
            melody_density=2,
            melody_range=(67, 84),
            chord_range=(60, 76),
            pad_range=(55, 72),
            bass_range=(40, 52),
        ),
        sections=_sections(
            ("intro", 4, "I vi ii V", "keys bass", "intro", None, False),
            ("A", 8, "I vi ii V", "keys bass melody", "bounce", "a", False),
            ("B", 8, "IV V iii vi IV V I V", "keys bass melody harmony pad", "bounce", "b", True),
            ("A2", 8, "I vi ii V", "keys bass melody", "bounce", "a", False),
            ("B2", 8, "IV V iii vi IV V I V", "keys bass melody harmony pad", "bounce", "b", True),
            ("outro", 4, "I vi ii V", "keys bass pad", "intro", None, False),
        ),
        grooves={
            "intro": {"kick": "X.......X.......", "shaker": "x.o.x.o.x.o.x.o."},
            "bounce": {
                "kick": "X.......X.......",
                "clap": "....X.......X...",
                "shaker": "x.o.x.o.x.o.x.o.",
                "rim": "..........o.....",
            },
        },
        fill={"kick": "X.......X.......", "clap": "....X.......X.X.", "shaker": "x.o.x.o.x.o.x.o."},
        final_hit=("kick", "clap"),
    ),
    band={
        "keys": Player(
            synth.Pluck(decay=0.35, damping=1.0, release=0.05), level=-23, spread=0.6, reverb=0.15
        ),
        "bass": Player(synth.Bass(pluck=0.12, decay=0.5), level=-22, reverb=0.02),
        "melody": Player(synth.Mallet(), level=-19, pan=0.1, reverb=0.2, echo=0.12, humanise=0.003),
        "harmony": Player(
            synth.Mallet(
                ratios=(1.0, 2.76, 5.4, 8.93),
                levels=(1.0, 0.35, 0.15, 0.06),
                decays=(1.4, 0.5, 0.25, 0.12),
            ),
            level=-26,
            pan=-0.35,
            reverb=0.3,
            echo=0.15,
        ),
        "pad": Player(synth.Pad(brightness=0.4, attack=0.5), level=-30, spread=0.6, reverb=0.3),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.22), level=-23),
        "clap": Drum(_P(synth.clap), level=-24, reverb=0.15),
        "shaker": Drum(_P(synth.shaker), level=-29, pan=0.3),
        "rim": Drum(_P(synth.rim), level=-31, pan=-0.2),
    },
)

STILL_WATER = TrackDefinition(
    slug="still-water",
    title="Still Water",
    mood="calm",
    description=(
        "A calm, spacious ambient piece: slow-blooming pads and a dreamy celesta pattern, "
        "a few soft piano notes drifting through long echoes, and a quiet heartbeat pulse."
    ),
    bpm=72,
    highlight="B",
    reverb_seconds=3.2,
    echo_beats=1.5,
    echo_feedback=0.4,
    plan=SongPlan(
        key=Key.parse("E major"),
        beats_per_bar=4,
        seed=72,
        style=Style(
            comp=((0, 2), (2.5, 1.5)),
            arpeggio_order=(0, 2, 1, 3),
            arpeggio_step=1.0,
            bass=((0, 4, "root"),),
            melody_density=0,
            melody_range=(64, 80),
            chord_range=(52, 71),
            pad_range=(52, 71),
            bass_range=(36, 47),
            arpeggio_range=(68, 86),
        ),
        sections=_sections(
            ("intro", 2, "Imaj7 II", "pad arp", None, None, False),
            ("A", 8, "Imaj7 II vi7 IVmaj7", "pad arp bass melody", "pulse", "a", False),
            (
                "B",
                8,
                "IVmaj7 II Imaj7 vi7 IVmaj7 II Imaj7 Imaj7",
                "pad arp bass keys melody",
                "pulse",
                "b",
                False,
            ),
            ("outro", 4, "Imaj7 II vi7 IVmaj7", "pad arp", "pulse", None, False),
        ),
        grooves={
            "pulse": {
                "kick": "X.......x.......",
                "rim": "....o.......o...",
                "shaker": "o...o...o...o...",
            }
        },
        final_hit=("kick",),
    ),
    band={
        "pad": Player(
            synth.Pad(attack=1.8, release=2.5, brightness=0.35), level=-21, spread=0.8, reverb=0.4
        ),
        "arp": Player(
            synth.Mallet(
                ratios=(1.0, 2.0, 3.0), levels=(1.0, 0.25, 0.06), decays=(1.6, 0.5, 0.2), ring=1.8
            ),
            level=-25,
            spread=0.7,
            reverb=0.4,
            echo=0.3,
        ),
        "keys": Player(synth.Piano(hardness=0.35), level=-25, spread=0.5, reverb=0.45, echo=0.2),
        "bass": Player(
            synth.Pad(harmonics=4, voices=1, attack=0.6, release=1.5), level=-25, reverb=0.1
        ),
        "melody": Player(
            synth.SoftLead(attack=0.12, vibrato_cents=10), level=-21, reverb=0.45, echo=0.25
        ),
    },
    kit={
        "kick": Drum(_P(synth.kick, decay=0.3, click=0.08, sweep_hz=95), level=-26),
        "rim": Drum(_P(synth.rim), level=-31, pan=0.2, reverb=0.4),
        "shaker": Drum(_P(synth.shaker), level=-32, pan=-0.3, reverb=0.2),
    },
)

TRACKS: tuple[TrackDefinition, ...] = (
    GOLDEN_HOUR,
    HAND_IN_HAND,
    OLD_PHOTOGRAPHS,
    NEW_HORIZONS,
    PAPER_KITES,
    STILL_WATER,
)


# --- rendering ---------------------------------------------------------------------------


def render_track(track: TrackDefinition, score: Score | None = None) -> np.ndarray:
    """The finished track as float32 stereo (2, n) at :data:`SAMPLE_RATE`: mixed,
    faded out at the end, at :data:`TARGET_LUFS` and peaks below :data:`PEAK_CEILING`."""
    score = score or compose(track.plan)
    mix = _mix(track, score)
    mix = synth.apply_fades(mix, fade_in=0.0, fade_out=TAIL_SECONDS)
    return synth.master(mix, target_lufs=TARGET_LUFS, ceiling=PEAK_CEILING)


def _mix(track: TrackDefinition, score: Score) -> np.ndarray:
    """Each part and each drum is played into its own stem, brought to its ``level``,
    and summed with its reverb and echo.

    A stem's loudness is measured on its notes summed unpanned (one channel, half the
    work): equal-power panning keeps each note's power, so that is the loudness of the
    panned stem too, give or take where notes at different places overlap.
    """
    spb = track.seconds_per_beat
    length = track.length_samples(score)
    mixer = synth.Mixer(length)

    def at(beat: float) -> int:
        return synth.samples(LEAD_IN_SECONDS + beat * spb)

    def add(stem: np.ndarray, mono: np.ndarray, level: float, reverb: float, echo: float) -> None:
        loudness = synth.integrated_loudness(mono[None, :])
        if math.isfinite(loudness):
            mixer.add(stem, mono, gain=10 ** ((level - loudness) / 20), reverb=reverb, echo=echo)

    for name, notes in score.parts.items():
        player = track.band.get(name)
        if player is None:
            raise ValueError(
                f"{track.slug}: the score has a {name!r} part but the band has no player for it"
            )
        stem = np.zeros((2, length), dtype=np.float32)
        mono = np.zeros((1, length), dtype=np.float32)
        centre = float(np.mean([note.pitch for note in notes]))
        rng = np.random.default_rng([track.plan.seed, zlib.crc32(name.encode())])
        rendered: dict[tuple[int, int, int], np.ndarray] = {}
        for note in notes:
            gate = round(note.beats * spb, 3)
            velocity = round(note.velocity * 20) / 20
            cache_key = (note.pitch, round(gate * 1000), round(velocity * 20))
            sound = rendered.get(cache_key)
            if sound is None:
                sound = rendered[cache_key] = player.instrument.render(note.pitch, gate, velocity)
            slip = (
                round(rng.uniform(-player.humanise, player.humanise) * SAMPLE_RATE)
                if player.humanise
                else 0
            )
            pan = player.pan + player.spread * float(np.clip((note.pitch - centre) / 12, -1.0, 1.0))
            synth.place(stem, sound, at(note.beat) + slip, pan=pan)
            synth.place(mono, sound, at(note.beat) + slip)
        add(stem, mono[0], player.level, player.reverb, player.echo)

    for name, drum in track.kit.items():
        hits = [hit for hit in score.drums if hit.drum == name]
        if not hits:
            continue
        stem = np.zeros((2, length), dtype=np.float32)
        mono = np.zeros((1, length), dtype=np.float32)
        sound = drum.sound()
        for hit in hits:
            synth.place(stem, sound, at(hit.beat), gain=hit.velocity, pan=drum.pan)
            synth.place(mono, sound, at(hit.beat), gain=hit.velocity)
        add(stem, mono[0], drum.level, drum.reverb, 0.0)

    impulse = synth.reverb_impulse(track.reverb_seconds, seed=track.plan.seed)
    return mixer.mixdown(
        impulse=impulse,
        echo_delay=synth.samples(track.echo_beats * spb),
        echo_feedback=track.echo_feedback,
    )


def preview_excerpt(track: TrackDefinition, score: Score, audio: np.ndarray) -> np.ndarray:
    """:data:`PREVIEW_SECONDS` from the highlight section, fading in to its first
    downbeat and out at the end, at the same loudness target as the tracks."""
    downbeat = LEAD_IN_SECONDS + score.section(track.highlight).start_beat * track.seconds_per_beat
    start = synth.samples(max(0.0, downbeat - PREVIEW_FADE_IN))
    excerpt = audio[:, start : start + synth.samples(PREVIEW_SECONDS)]
    excerpt = synth.apply_fades(excerpt, fade_in=PREVIEW_FADE_IN, fade_out=PREVIEW_FADE_OUT)
    return synth.master(excerpt, target_lufs=TARGET_LUFS, ceiling=PEAK_CEILING)


def encode_m4a(audio: np.ndarray, path: Path, *, title: str, comment: str) -> None:
    """Encode float32 stereo PCM to AAC in an .m4a at ``path`` (written atomically),
    piping the raw samples to ffmpeg's stdin."""
    pcm = np.ascontiguousarray(audio.T, dtype="<f4").tobytes()
    with atomic_output(path) as tmp:
        argv = ffmpeg_cmd(
            "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "2", "-i", "pipe:0",
            "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
            "-movflags", "+faststart",
            "-metadata", f"title={title}",
            "-metadata", "artist=Echoes",
            "-metadata", f"comment={comment}",
            str(tmp),
        )  # fmt: skip
        result = subprocess.run(argv, input=pcm, capture_output=True, check=False)
        if result.returncode != 0:
            raise FFmpegError(argv, result.returncode, result.stderr.decode("utf-8", "replace"))


# --- the library on disk -----------------------------------------------------------------


def load_library(directory: Path) -> list[TrackMeta]:
    """The tracks listed in ``directory/library.json``.

    Raises ``FileNotFoundError`` if the library has not been built there.
    """
    path = Path(directory) / LIBRARY_FILE
    return list(msgspec.json.decode(path.read_bytes(), type=Library).tracks)


def _previous_library(directory: Path) -> Library | None:
    try:
        return msgspec.json.decode((directory / LIBRARY_FILE).read_bytes(), type=Library)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _write_library(directory: Path, library: Library) -> None:
    """Write ``library.json`` atomically, or leave it alone if it already says this."""
    path = directory / LIBRARY_FILE
    data = msgspec.json.format(msgspec.json.encode(library), indent=2) + b"\n"
    with contextlib.suppress(FileNotFoundError):
        if path.read_bytes() == data:
            return
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def build_library(out_dir: Path, *, force: bool = False) -> list[TrackMeta]:
    """Generate every track of :data:`TRACKS` with its preview into ``out_dir`` and list
    them in ``library.json``; return their metadata in library order.

    See :func:`build_tracks` for what is skipped and what is removed.
    """
    return build_tracks(Path(out_dir), TRACKS, force=force)


def build_tracks(
    out_dir: Path, tracks: Sequence[TrackDefinition], *, force: bool = False
) -> list[TrackMeta]:
    """Make ``out_dir`` hold exactly ``tracks``: their files and a ``library.json``.

    A track is skipped when both its files exist and the ``library.json`` already there
    (of this :data:`GENERATOR_VERSION`) lists the same metadata for it, unless ``force``.
    Files of tracks the previous ``library.json`` listed but ``tracks`` no longer has are
    removed. Encoding runs in background threads (ffmpeg processes) while the next track
    is synthesised, so both cores are busy. ``library.json`` is written last: an
    interrupted build leaves the previous one in place and is redone next time.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _previous_library(out_dir)
    known = (
        {meta.slug: meta for meta in previous.tracks}
        if previous and previous.version == GENERATOR_VERSION
        else {}
    )
    metas: list[TrackMeta] = []
    encodes: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="musicgen-encode") as pool:
        for track in tracks:
            started = time.perf_counter()
            score = compose(track.plan)
            meta = track.meta(score)
            metas.append(meta)
            files = (out_dir / meta.file, out_dir / meta.preview_file)
            if not force and known.get(meta.slug) == meta and all(path.is_file() for path in files):
                log.info("music_track_up_to_date", slug=meta.slug)
                continue
            for earlier in encodes[:-2]:
                earlier.result()  # at most one track waits to be encoded while the next is made
            audio = render_track(track, score)
            preview = preview_excerpt(track, score, audio)
            comment = f"Generated by Echoes musicgen v{GENERATOR_VERSION}: {meta.mood}, {meta.bpm:g} bpm, {meta.key}"
            encodes.append(
                pool.submit(encode_m4a, audio, files[0], title=meta.title, comment=comment)
            )
            encodes.append(
                pool.submit(
                    encode_m4a, preview, files[1], title=f"{meta.title} (preview)", comment=comment
                )
            )
            log.info(
                "music_track_synthesised",
                slug=meta.slug,
                seconds=round(time.perf_counter() - started, 2),
            )
        for encode in encodes:
            encode.result()
    _write_library(out_dir, Library(version=GENERATOR_VERSION, tracks=metas))
    _remove_stale(out_dir, previous.tracks if previous else (), metas)
    return metas


def _remove_stale(directory: Path, old: Iterable[TrackMeta], current: Sequence[TrackMeta]) -> None:
    keep = {name for meta in current for name in (meta.file, meta.preview_file)}
    for meta in old:
        for name in (meta.file, meta.preview_file):
            path = directory / name
            if name not in keep and path.parent == directory:
                path.unlink(missing_ok=True)
