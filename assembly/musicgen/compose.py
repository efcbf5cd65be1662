"""The notes of a generated track: keys, chords and voicings, melodies, grooves, form.

Everything here is pure and deterministic: a :class:`SongPlan` and its seed always give
the same :class:`Score`. Time is counted in beats from the first downbeat; turning beats
into samples (and notes into sound) is the renderer's job.

The musical rules are the ones a songwriter would use, kept deliberately small:

* chords come from Roman numerals in the song's key, voiced so that each chord moves as
  little as possible from the one before (smooth voice leading, no semitone clusters);
* a melody is built from short motifs: a 4-bar phrase states a rhythmic motif, repeats
  it over the next chord, answers it, and comes to rest on a long note. Strong beats
  land on chord tones, the notes between walk through the scale, and the last phrase of
  a section can resolve to the tonic;
* drums are written as step patterns (``"X...x...X...x..."``), one string per drum and bar.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SCALES: Mapping[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
}
_SPELLINGS = {name: index for index, name in enumerate(NOTE_NAMES)} | {
    "C#": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "E#": 5, "Fb": 4, "B#": 0,
}  # fmt: skip


# --- keys and chords ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    tonic: int
    mode: str = "major"

    def __post_init__(self) -> None:
        if self.mode not in SCALES:
            raise ValueError(f"unknown mode {self.mode!r}; known: {', '.join(SCALES)}")
        if not 0 <= self.tonic < 12:
            raise ValueError("tonic is a pitch class, 0..11")

    @classmethod
    def parse(cls, text: str) -> Key:
        """``"Eb major"``, ``"F# minor"``, ``"D dorian"``."""
        tonic, _, mode = text.strip().partition(" ")
        if tonic not in _SPELLINGS:
            raise ValueError(f"unknown tonic {tonic!r}")
        return cls(_SPELLINGS[tonic], mode.strip().lower() or "major")

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """The scale's pitch classes, from the tonic up."""
        return tuple((self.tonic + step) % 12 for step in SCALES[self.mode])

    def scale_notes(self, low: int, high: int) -> list[int]:
        """MIDI notes of the scale from ``low`` to ``high`` inclusive."""
        classes = set(self.pitch_classes)
        return [note for note in range(low, high + 1) if note % 12 in classes]


@dataclass(frozen=True, slots=True)
class Chord:
    root: int
    intervals: tuple[int, ...]
    symbol: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Chord tones in order of importance: root, third, fifth, then extensions."""
        return tuple((self.root + interval) % 12 for interval in self.intervals)


_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_NUMERAL = re.compile(
    r"^(?P<accidental>[b#]?)(?P<numeral>[ivIV]+)(?P<dim>o?)(?P<extension>maj7|maj9|add9|sus2|sus4|7|9|6)?$"
)
_EXTENSIONS: Mapping[str, tuple[int, ...]] = {
    "": (),
    "7": (10,),
    "maj7": (11,),
    "9": (10, 14),
    "maj9": (11, 14),
    "add9": (14,),
    "6": (9,),
}


def chord(key: Key, numeral: str) -> Chord:
    """The chord a Roman numeral names in ``key``.

    The numeral picks a degree of the key's own scale (so ``VI`` in C minor is A flat);
    ``b``/``#`` before it moves the root a semitone; upper case is a major triad, lower
    case minor, a trailing ``o`` diminished; then an optional ``7``, ``maj7``, ``9``,
    ``maj9``, ``add9``, ``6``, ``sus2`` or ``sus4``. ``iv`` in a major key is the
    borrowed minor four.
    """
    match = _NUMERAL.match(numeral)
    if not match or match["numeral"].lower() not in _ROMAN:
        raise ValueError(f"not a chord numeral: {numeral!r}")
    degree = _ROMAN[match["numeral"].lower()]
    shift = {"b": -1, "#": 1, "": 0}[match["accidental"]]
    root = (key.tonic + SCALES[key.mode][degree] + shift) % 12
    upper = match["numeral"].isupper()
    extension = match["extension"] or ""
    if match["dim"]:
        triad, quality = (0, 3, 6), "dim"
    elif upper:
        triad, quality = (0, 4, 7), ""
    else:
        triad, quality = (0, 3, 7), "m"
    if extension in ("sus2", "sus4"):
        triad = (0, 2 if extension == "sus2" else 5, 7)
        intervals, suffix = triad, extension
    else:
        intervals = triad + _EXTENSIONS[extension]
        suffix = quality + extension
        if quality == "m" and extension.startswith("maj"):
            suffix = "m(" + extension + ")"
    return Chord(root=root, intervals=intervals, symbol=NOTE_NAMES[root] + suffix)


def progression(key: Key, numerals: str) -> tuple[Chord, ...]:
    """Chords for whitespace-separated numerals: ``"vi IV I V"``."""
    return tuple(chord(key, numeral) for numeral in numerals.split())


def voice_chord(
    target: Chord,
    previous: Sequence[int] | None = None,
    *,
    low: int = 55,
    high: int = 76,
    voices: int = 4,
) -> tuple[int, ...]:
    """``voices`` notes of ``target`` between ``low`` and ``high``, ascending.

    Chord tones are kept in order of importance (the fifth goes first when there are more
    tones than voices; the root, else the fifth, else the third is doubled when there are
    fewer). Among all placements spanning at most an octave and a sixth, the one that
    moves least from ``previous`` is chosen (or, for a first chord, the one nearest the
    middle of the range), avoiding semitone clashes between neighbouring voices and a
    9th in the lowest voice.
    """
    centre = (low + high) / 2
    best: tuple[float, tuple[int, ...]] | None = None
    for preference, tones in enumerate(_tone_choices(target, voices)):
        options = [[note for note in range(low, high + 1) if note % 12 == pc] for pc in tones]
        for combo in itertools.product(*options):
            notes = tuple(sorted(combo))
            if len(set(notes)) < len(notes) or notes[-1] - notes[0] > 21:
                continue
            gaps = np.diff(notes)
            cost = (
                1.5 * preference + 12.0 * float(np.sum(gaps == 1)) + 0.15 * (notes[-1] - notes[0])
            )
            if (notes[0] - target.root) % 12 in (1, 2) and len(target.intervals) > 3:
                cost += 3.0
            if previous is not None and len(previous) == len(notes):
                cost += float(np.abs(np.subtract(notes, sorted(previous))).sum())
            else:
                cost += abs(float(np.mean(notes)) - centre)
            if best is None or cost < best[0]:
                best = (cost, notes)
    if best is None:
        raise ValueError(f"cannot voice {target.symbol} in {low}..{high} with {voices} voices")
    return best[1]


def _tone_choices(target: Chord, voices: int) -> list[list[int]]:
    """The pitch classes to voice, best first: trimmed (fifth dropped first) when the
    chord has more tones than voices, or with one tone doubled when it has fewer."""
    tones = list(target.pitch_classes)
    while len(tones) > voices:
        tones.pop(2 if len(tones) > 3 else len(tones) - 1)
    if len(tones) == voices:
        return [tones]
    doubling_order = [0, 2, 1] if len(tones) >= 3 else list(range(len(tones)))
    choices = []
    for doubled in doubling_order:
        extra = voices - len(tones)
        choices.append(tones + [tones[doubled]] * extra)
    return choices


def bass_pitch(target: Chord, previous: int | None, *, low: int = 36, high: int = 50) -> int:
    """The chord's root in the bass register, in the octave nearest the last bass note."""
    candidates = [note for note in range(low, high + 1) if note % 12 == target.root]
    anchor = previous if previous is not None else (low + high) / 2
    return min(candidates, key=lambda note: (abs(note - anchor), note))


# --- notes, melodies and parts -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Note:
    """A note: starts ``beat`` beats after the first downbeat, held ``beats`` beats."""

    beat: float
    beats: float
    pitch: int
    velocity: float


@dataclass(frozen=True, slots=True)
class Hit:
    """A drum hit ``beat`` beats after the first downbeat."""

    beat: float
    drum: str
    velocity: float


Rhythm = tuple[tuple[float, float], ...]

# Bar rhythms for melodies, as (onset, length) in beats, by how busy the tune is.
_RHYTHMS: Mapping[int, Mapping[int, tuple[Rhythm, ...]]] = {
    4: {
        0: (
            ((0, 2), (2, 2)),
            ((0, 3), (3, 1)),
            ((0, 1.5), (1.5, 0.5), (2, 2)),
            ((0, 2), (2, 1), (3, 1)),
        ),
        1: (
            ((0, 1), (1, 1), (2, 1.5), (3.5, 0.5)),
            ((0, 1.5), (1.5, 0.5), (2, 1), (3, 1)),
            ((0.5, 0.5), (1, 1), (2, 2)),
            ((0, 1), (1, 0.5), (1.5, 0.5), (2, 2)),
            ((0, 1), (1, 1), (2, 2)),
        ),
        2: (
            ((0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 0.5), (3, 1)),
            ((0, 1), (1, 0.5), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 1)),
            ((0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 1), (3, 1)),
            ((0, 0.5), (0.5, 1), (1.5, 0.5), (2, 1.5), (3.5, 0.5)),
        ),
    },
    3: {
        0: (((0, 2), (2, 1)), ((0, 1.5), (1.5, 0.5), (2, 1)), ((0, 3),)),
        1: (
            ((0, 1), (1, 1), (2, 1)),
            ((0, 1.5), (1.5, 0.5), (2, 1)),
            ((0, 1), (1, 0.5), (1.5, 0.5), (2, 1)),
        ),
        2: (
            ((0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 0.5)),
            ((0, 1), (1, 0.5), (1.5, 0.5), (2, 0.5), (2.5, 0.5)),
        ),
    },
}
_CADENCES: Mapping[int, tuple[Rhythm, ...]] = {
    4: (((0, 4),), ((0, 1), (1, 3)), ((0, 1.5), (1.5, 2.5))),
    3: (((0, 3),), ((0, 1), (1, 2))),
}


@dataclass(frozen=True, slots=True)
class _Theme:
    """The material of one melody: a motif and an answer (rhythm + scale-step contour),
    a cadence rhythm, and how far the repeat of the motif is sequenced."""

    motif: Rhythm
    motif_steps: tuple[int, ...]
    answer: Rhythm
    answer_steps: tuple[int, ...]
    cadence: Rhythm
    sequence_step: int


def _steps(rng: np.random.Generator, count: int) -> tuple[int, ...]:
    """A melodic contour of ``count`` notes as scale steps: mostly steps, a few leaps,
    and a leap is usually followed by a step back (gap fill)."""
    steps = [0]
    for _ in range(count - 1):
        if abs(steps[-1]) >= 3:
            steps.append(-int(np.sign(steps[-1])) * int(rng.choice([1, 2])))
        else:
            steps.append(
                int(
                    rng.choice(
                        [-2, -1, -1, 1, 1, 2, 3, -3], p=[0.1, 0.2, 0.15, 0.2, 0.15, 0.1, 0.06, 0.04]
                    )
                )
            )
    return tuple(steps)


def _theme(rng: np.random.Generator, beats_per_bar: int, density: int) -> _Theme:
    pool = _RHYTHMS[beats_per_bar][density]
    motif_index, answer_index = rng.choice(len(pool), size=2, replace=len(pool) < 2)
    motif, answer = pool[int(motif_index)], pool[int(answer_index)]
    cadences = _CADENCES[beats_per_bar]
    return _Theme(
        motif=motif,
        motif_steps=_steps(rng, len(motif)),
        answer=answer,
        answer_steps=_steps(rng, len(answer)),
        cadence=cadences[int(rng.integers(len(cadences)))],
        sequence_step=int(rng.choice([-1, 1, 2])),
    )


def _chord_scale(key: Key, harmony: Chord) -> set[int]:
    """The key's scale with any chord tone from outside it (a borrowed chord) replacing
    the scale notes a semitone away, so passing notes never rub against the harmony."""
    classes = set(key.pitch_classes)
    for pc in harmony.pitch_classes:
        if pc not in classes:
            classes -= {(pc + 1) % 12, (pc - 1) % 12}
            classes.add(pc)
    return classes


def melody(
    key: Key,
    chords: Sequence[Chord],
    seed: int,
    *,
    beats_per_bar: int,
    low: int,
    high: int,
    density: int = 1,
    resolve: bool = True,
    start_beat: float = 0.0,
) -> list[Note]:
    """A melody over ``chords`` (one per bar), in 4-bar phrases: motif, the motif again
    (sequenced to the new chord), an answer (inverted in every second phrase), and a
    cadence on a long note. With ``resolve``, the last note is the tonic if the last
    chord holds it. The same seed gives the same tune."""
    theme = _theme(np.random.default_rng(seed), beats_per_bar, density)
    notes: list[Note] = []
    strong = {0.0, beats_per_bar / 2} if beats_per_bar % 2 == 0 else {0.0}
    middle = (low + high) // 2
    pitch = min(
        (n for n in range(low, high + 1) if n % 12 in chords[0].pitch_classes),
        key=lambda n: abs(n - middle),
    )
    phrase_start_pitch = pitch
    bars = len(chords)
    for bar, harmony in enumerate(chords):
        position = bar % 4
        allowed = _chord_scale(key, harmony)
        scale = [n for n in range(low - 12, high + 13) if n % 12 in allowed]
        chord_tones = [n for n in range(low, high + 1) if n % 12 in harmony.pitch_classes]
        is_cadence = position == 3 or bar == bars - 1
        if is_cadence:
            rhythm, steps = theme.cadence, (0,) + (-1,) * (len(theme.cadence) - 1)
        elif position == 2:
            rhythm, steps = theme.answer, theme.answer_steps
            if (bar // 4) % 2 == 1:
                # The second phrase answers with the contour turned upside down.
                steps = tuple(-step for step in steps)
        else:
            rhythm, steps = theme.motif, theme.motif_steps
        if position == 0:
            pitch = phrase_start_pitch
        elif position == 1:
            pitch = _step(scale, phrase_start_pitch, theme.sequence_step)
        for index, ((onset, length), step) in enumerate(zip(rhythm, steps, strict=True)):
            if index and not low <= _step(scale, pitch, step) <= high:
                step = -step  # turn back at the edge of the range rather than jump an octave
            target = _step(scale, pitch, step) if index else pitch
            if onset in strong or (is_cadence and index == len(rhythm) - 1):
                target = _chord_tone_towards(chord_tones, pitch, target, step if index else 0)
            if (
                resolve
                and bar == bars - 1
                and index == len(rhythm) - 1
                and key.tonic in harmony.pitch_classes
            ):
                tonics = [n for n in range(low, high + 1) if n % 12 == key.tonic]
                target = min(tonics, key=lambda n: abs(n - pitch))
            target = _fold(target, low, high)
            pitch = target
            accent = 0.12 if onset == 0 else 0.05 if onset in strong else 0.0
            notes.append(
                Note(
                    beat=start_beat + bar * beats_per_bar + onset,
                    beats=length,
                    pitch=target,
                    velocity=round(0.72 + accent, 3),
                )
            )
    return notes


def _chord_tone_towards(chord_tones: Sequence[int], previous: int, target: int, step: int) -> int:
    """The chord tone nearest ``target``; when the contour moves (``step`` ≠ 0), one
    that keeps moving that way from ``previous`` (within a fifth), so snapping to the
    harmony does not flatten the tune into repeated notes."""
    if step:
        onward = [n for n in chord_tones if 0 < (n - previous) * np.sign(step) <= 7]
        if onward:
            return min(onward, key=lambda n: (abs(n - target), n))
    return min(chord_tones, key=lambda n: (abs(n - target), n))


def _step(scale: Sequence[int], pitch: int, steps: int) -> int:
    """``steps`` scale degrees from ``pitch`` (snapped to the scale first)."""
    index = min(range(len(scale)), key=lambda i: abs(scale[i] - pitch))
    return scale[max(0, min(len(scale) - 1, index + steps))]


def _fold(pitch: int, low: int, high: int) -> int:
    while pitch > high:
        pitch -= 12
    while pitch < low:
        pitch += 12
    return pitch


def harmony_line(
    tune: Sequence[Note],
    key: Key,
    chords: Sequence[Chord],
    *,
    beats_per_bar: int,
    below: int = 2,
    start_beat: float = 0.0,
) -> list[Note]:
    """A second voice ``below`` scale steps (a third by default) under a melody, moved to
    the nearest chord tone on the strong beats so the two voices stay consonant."""
    out = []
    for note in tune:
        bar = int((note.beat - start_beat) // beats_per_bar)
        harmony = chords[min(bar, len(chords) - 1)]
        scale = sorted(
            n for n in range(note.pitch - 14, note.pitch) if n % 12 in _chord_scale(key, harmony)
        )
        pitch = scale[-below] if len(scale) >= below else note.pitch - 12
        if (note.beat - start_beat) % beats_per_bar == 0:
            tones = [
                n for n in range(note.pitch - 10, note.pitch - 2) if n % 12 in harmony.pitch_classes
            ]
            if tones:
                pitch = min(tones, key=lambda n: abs(n - pitch))
        out.append(Note(note.beat, note.beats, pitch, round(note.velocity * 0.8, 3)))
    return out


def sustained_chords(
    voicings: Sequence[tuple[int, ...]],
    *,
    beats_per_bar: int,
    start_beat: float = 0.0,
    velocity: float = 0.7,
) -> list[Note]:
    """Every voicing held for its bar; a voicing repeated in the next bar is held on."""
    notes = []
    bar = 0
    while bar < len(voicings):
        length = 1
        while bar + length < len(voicings) and voicings[bar + length] == voicings[bar]:
            length += 1
        for pitch in voicings[bar]:
            notes.append(
                Note(start_beat + bar * beats_per_bar, length * beats_per_bar, pitch, velocity)
            )
        bar += length
    return notes


def comped_chords(
    voicings: Sequence[tuple[int, ...]],
    rhythm: Rhythm,
    *,
    beats_per_bar: int,
    start_beat: float = 0.0,
    velocity: float = 0.65,
) -> list[Note]:
    """The chord struck on each (onset, length) of ``rhythm`` in every bar; downbeats a
    little stronger."""
    notes = []
    for bar, voicing in enumerate(voicings):
        for onset, length in rhythm:
            accent = 1.15 if onset == 0 else 1.0
            for pitch in voicing:
                notes.append(
                    Note(
                        start_beat + bar * beats_per_bar + onset,
                        length,
                        pitch,
                        round(velocity * accent, 3),
                    )
                )
    return notes


def arpeggio(
    voicings: Sequence[tuple[int, ...]],
    order: Sequence[int],
    *,
    step: float,
    beats_per_bar: int,
    start_beat: float = 0.0,
    velocity: float = 0.6,
    ring: float = 2.0,
) -> list[Note]:
    """The chord broken into single notes every ``step`` beats, cycling through
    ``order`` (indices into the voicing; an index past the top repeats the voicing an
    octave up). Each note rings ``ring`` steps; notes on the beat are accented."""
    notes = []
    per_bar = round(beats_per_bar / step)
    for bar, voicing in enumerate(voicings):
        for i in range(per_bar):
            index = order[i % len(order)]
            octave, position = divmod(index, len(voicing))
            onset = i * step
            accent = 1.2 if onset == 0 else 1.08 if onset == int(onset) else 0.9
            notes.append(
                Note(
                    start_beat + bar * beats_per_bar + onset,
                    step * ring,
                    voicing[position] + 12 * octave,
                    round(min(1.0, velocity * accent), 3),
                )
            )
    return notes


BassFigure = tuple[tuple[float, float, str], ...]


def _bass_interval(harmony: Chord, degree: str) -> int:
    intervals = {
        "root": 0,
        "third": harmony.intervals[1],
        "fifth": harmony.intervals[2],
        "octave": 12,
    }
    if degree not in intervals:
        raise ValueError(f"unknown bass degree {degree!r}; known: {', '.join(intervals)}")
    return intervals[degree]


def bass_line(
    chords: Sequence[Chord],
    figure: BassFigure,
    *,
    beats_per_bar: int,
    start_beat: float = 0.0,
    low: int = 36,
    high: int = 50,
    velocity: float = 0.8,
) -> list[Note]:
    """A bass part: per bar, ``figure``'s (onset, length, "root"|"fifth"|"third"|"octave")
    notes on the bar's chord."""
    notes = []
    previous = None
    for bar, harmony in enumerate(chords):
        root = bass_pitch(harmony, previous, low=low, high=high)
        previous = root
        for onset, length, degree in figure:
            accent = 1.0 if onset == 0 else 0.85
            notes.append(
                Note(
                    start_beat + bar * beats_per_bar + onset,
                    length,
                    root + _bass_interval(harmony, degree),
                    round(velocity * accent, 3),
                )
            )
    return notes


_STEP_VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.45}


def groove(
    patterns: Mapping[str, str], *, beats_per_bar: int, bars: int, start_beat: float = 0.0
) -> list[Hit]:
    """Drum hits from step patterns, one string per drum covering one bar: ``X`` accent,
    ``x`` normal, ``o`` ghost note, ``.`` rest (spaces and ``|`` are ignored)."""
    hits = []
    for drum, pattern in patterns.items():
        steps = pattern.replace(" ", "").replace("|", "")
        if not steps or any(c not in ".xXo" for c in steps):
            raise ValueError(f"bad step pattern for {drum}: {pattern!r}")
        spacing = beats_per_bar / len(steps)
        for bar in range(bars):
            for index, mark in enumerate(steps):
                if mark != ".":
                    hits.append(
                        Hit(
                            start_beat + bar * beats_per_bar + index * spacing,
                            drum,
                            _STEP_VELOCITY[mark],
                        )
                    )
    return sorted(hits, key=lambda hit: (hit.beat, hit.drum))


# --- form --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Style:
    """How the parts are played: registers, the keys' comping rhythm, the arpeggio, the
    bass figure, and how busy the melody is."""

    comp: Rhythm = ((0, 1), (1, 1), (2, 1), (3, 1))
    arpeggio_order: tuple[int, ...] = (0, 1, 2, 3, 4, 3, 2, 1)
    arpeggio_step: float = 0.5
    bass: BassFigure = ((0, 4, "root"),)
    melody_density: int = 1
    melody_range: tuple[int, int] = (67, 81)
    chord_range: tuple[int, int] = (55, 74)
    pad_range: tuple[int, int] = (50, 70)
    bass_range: tuple[int, int] = (36, 50)
    arpeggio_range: tuple[int, int] = (60, 79)


@dataclass(frozen=True, slots=True)
class Section:
    """A stretch of the song: its chords (one numeral per bar, cycled to fill ``bars``),
    which parts play, the drum groove (a key of :attr:`SongPlan.grooves`), the melody
    theme (sections sharing a theme share a tune), and whether the drums fill into the
    next section."""

    name: str
    bars: int
    chords: str
    parts: frozenset[str]
    groove: str | None = None
    theme: str | None = None
    fill: bool = False


#: The pitched parts a section can ask for, in score order.
PARTS = ("pad", "keys", "arp", "bass", "melody", "harmony")


@dataclass(frozen=True, slots=True)
class SongPlan:
    key: Key
    beats_per_bar: int
    sections: tuple[Section, ...]
    grooves: Mapping[str, Mapping[str, str]]
    style: Style = field(default_factory=Style)
    seed: int = 0
    fill: Mapping[str, str] = field(default_factory=dict)
    #: Drums struck with the final chord (the song's last downbeat).
    final_hit: tuple[str, ...] = ("kick", "cymbal")
    #: Drums struck on the first downbeat of every section with drums but the first
    #: section (a cymbal marking each new section).
    section_accent: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SectionSpan:
    name: str
    start_beat: float
    bars: int


@dataclass(frozen=True, slots=True)
class Score:
    """Everything to be played. ``total_beats`` ends with the final chord's bar."""

    key: Key
    beats_per_bar: int
    total_beats: float
    sections: tuple[SectionSpan, ...]
    chords: tuple[Chord, ...]
    parts: Mapping[str, tuple[Note, ...]]
    drums: tuple[Hit, ...]

    def section(self, name: str) -> SectionSpan:
        """The first section called ``name``."""
        for span in self.sections:
            if span.name == name:
                return span
        raise KeyError(f"no section {name!r}; the song has {[span.name for span in self.sections]}")


def _theme_seed(seed: int, theme: str) -> int:
    return zlib.crc32(f"{seed}:{theme}".encode())


def compose(plan: SongPlan) -> Score:
    """Lay out the sections, voice the chords, write every part, and end the song on a
    held tonic chord (one extra bar) struck with :attr:`SongPlan.final_hit`."""
    style, bpb, key = plan.style, plan.beats_per_bar, plan.key
    parts: dict[str, list[Note]] = {name: [] for name in PARTS}
    drums: list[Hit] = []
    spans: list[SectionSpan] = []
    all_chords: list[Chord] = []
    chord_voicing: tuple[int, ...] | None = None
    pad_voicing: tuple[int, ...] | None = None
    beat = 0.0
    for section in plan.sections:
        unknown = section.parts - set(PARTS)
        if unknown:
            raise ValueError(f"section {section.name}: unknown parts {sorted(unknown)}")
        numerals = section.chords.split()
        bar_chords = [chord(key, numerals[i % len(numerals)]) for i in range(section.bars)]
        chord_voicings, pad_voicings = [], []
        for harmony in bar_chords:
            chord_voicing = voice_chord(
                harmony, chord_voicing, low=style.chord_range[0], high=style.chord_range[1]
            )
            pad_voicing = voice_chord(
                harmony, pad_voicing, low=style.pad_range[0], high=style.pad_range[1]
            )
            chord_voicings.append(chord_voicing)
            pad_voicings.append(pad_voicing)
        arp_voicings = [_transpose_into(v, *style.arpeggio_range) for v in chord_voicings]
        if "pad" in section.parts:
            parts["pad"] += sustained_chords(pad_voicings, beats_per_bar=bpb, start_beat=beat)
        if "keys" in section.parts:
            parts["keys"] += comped_chords(
                chord_voicings, style.comp, beats_per_bar=bpb, start_beat=beat
            )
        if "arp" in section.parts:
            parts["arp"] += arpeggio(
                arp_voicings,
                style.arpeggio_order,
                step=style.arpeggio_step,
                beats_per_bar=bpb,
                start_beat=beat,
            )
        if "bass" in section.parts:
            parts["bass"] += bass_line(
                bar_chords,
                style.bass,
                beats_per_bar=bpb,
                start_beat=beat,
                low=style.bass_range[0],
                high=style.bass_range[1],
            )
        if section.theme is not None and section.parts & {"melody", "harmony"}:
            tune = melody(
                key,
                bar_chords,
                _theme_seed(plan.seed, section.theme),
                beats_per_bar=bpb,
                low=style.melody_range[0],
                high=style.melody_range[1],
                density=style.melody_density,
                start_beat=beat,
            )
            if "melody" in section.parts:
                parts["melody"] += tune
            if "harmony" in section.parts:
                parts["harmony"] += harmony_line(
                    tune, key, bar_chords, beats_per_bar=bpb, start_beat=beat
                )
        if section.groove is not None:
            if spans:
                drums += [Hit(beat, drum, 0.8) for drum in plan.section_accent]
            groove_bars = section.bars - 1 if section.fill and plan.fill else section.bars
            drums += groove(
                plan.grooves[section.groove], beats_per_bar=bpb, bars=groove_bars, start_beat=beat
            )
            if groove_bars < section.bars:
                drums += groove(
                    plan.fill, beats_per_bar=bpb, bars=1, start_beat=beat + groove_bars * bpb
                )
        spans.append(SectionSpan(section.name, beat, section.bars))
        all_chords += bar_chords
        beat += section.bars * bpb

    tonic = chord(key, "I" if key.mode in ("major", "lydian", "mixolydian") else "i")
    final_chord = voice_chord(
        tonic, chord_voicing, low=style.chord_range[0], high=style.chord_range[1]
    )
    final_pad = voice_chord(tonic, pad_voicing, low=style.pad_range[0], high=style.pad_range[1])
    last = plan.sections[-1].parts
    if "pad" in last:
        parts["pad"] += [Note(beat, bpb, p, 0.7) for p in final_pad]
    struck_by = next((part for part in ("keys", "arp") if part in last), None)
    if struck_by is not None:
        parts[struck_by] += [Note(beat, bpb, p, 0.7) for p in final_chord]
    if "bass" in last:
        parts["bass"].append(
            Note(
                beat,
                bpb,
                bass_pitch(tonic, None, low=style.bass_range[0], high=style.bass_range[1]),
                0.8,
            )
        )
    if "melody" in last:
        low, high = style.melody_range
        tonics = [n for n in range(low, high + 1) if n % 12 == key.tonic]
        if tonics:
            parts["melody"].append(Note(beat, bpb, tonics[0], 0.65))
    drums += [Hit(beat, drum, 0.9) for drum in plan.final_hit]
    all_chords.append(tonic)
    spans.append(SectionSpan("ending", beat, 1))
    return Score(
        key=key,
        beats_per_bar=bpb,
        total_beats=beat + bpb,
        sections=tuple(spans),
        chords=tuple(all_chords),
        parts={
            name: tuple(sorted(notes, key=lambda n: (n.beat, n.pitch)))
            for name, notes in parts.items()
            if notes
        },
        drums=tuple(sorted(drums, key=lambda hit: (hit.beat, hit.drum))),
    )


def _transpose_into(voicing: tuple[int, ...], low: int, high: int) -> tuple[int, ...]:
    """The voicing moved by whole octaves to lie as far inside ``low..high`` as it can."""

    def overflow(shift: int) -> int:
        return max(0, low - (voicing[0] + shift)) + max(0, voicing[-1] + shift - high)

    best = min(range(-48, 49, 12), key=lambda shift: (overflow(shift), abs(shift)))
    return tuple(pitch + best for pitch in voicing)
