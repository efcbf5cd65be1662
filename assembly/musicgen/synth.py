"""Sound for the generated music library: instruments, drums, effects and mastering.

numpy only, and vectorised: an instrument renders one whole note with a handful of array
operations, drums are one-shot samples rendered once per track, and the effects work on
whole buffers or on large blocks. Python loops run over notes, partials or FFT blocks,
never over samples.

Phases are accumulated in float64 (in cycles) and reduced to one cycle before a float32
``sin``: the float32 sine is many times faster, and the reduction keeps long notes in tune.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 48_000
_TWO_PI = np.float32(2 * np.pi)
_RT60 = math.log(1000.0)  # an exponential with time constant T falls 60 dB in T * _RT60


# --- basics ------------------------------------------------------------------------------


def midi_to_hz(note: float | np.ndarray) -> float | np.ndarray:
    """Equal-tempered frequency of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69.0) / 12.0)


def sine(cycles: np.ndarray) -> np.ndarray:
    """``sin(2π·cycles)`` as float32, for phases given in cycles (float64)."""
    return np.sin(_TWO_PI * (cycles - np.floor(cycles)).astype(np.float32))


def _times(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sample_rate


def samples(seconds: float, sample_rate: int = SAMPLE_RATE) -> int:
    """A duration in whole samples (rounded, never negative)."""
    return max(0, round(seconds * sample_rate))


# --- envelopes ---------------------------------------------------------------------------


def adsr(
    gate: float,
    *,
    attack: float,
    decay: float,
    sustain: float,
    release: float,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Amplitude envelope of a note whose key is held for ``gate`` seconds.

    A linear attack to 1, an exponential decay (time constant ``decay``) towards
    ``sustain``, then after the gate a release that falls 60 dB over ``release`` seconds
    and ends on exactly zero. The result lasts ``gate + release`` seconds. A gate shorter
    than the attack releases from wherever the attack had got to.
    """
    held = samples(gate, sample_rate)
    t = _times(held, sample_rate)
    rise = np.minimum(t / attack, 1.0) if attack > 0 else np.ones_like(t)
    after_peak = np.maximum(t - attack, 0.0)
    level = (
        sustain + (1.0 - sustain) * np.exp(-after_peak / decay)
        if decay > 0
        else np.full_like(t, sustain)
    )
    body = rise * np.where(t < attack, 1.0, level)
    end_level = float(body[-1]) if held else 0.0
    return np.concatenate([body, end_level * release_curve(release, sample_rate)]).astype(
        np.float32
    )


def release_curve(seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """From 1 down to exactly 0 in ``seconds``: exponential (-60 dB), then a last linear
    squeeze so the note ends without a click."""
    n = samples(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    u = np.linspace(0.0, 1.0, n)
    return (np.exp(-_RT60 * u) * (1.0 - u)).astype(np.float32)


def gate_envelope(
    gate: float, release: float, attack: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """1 while the key is held (after a linear attack), then :func:`release_curve`."""
    return adsr(
        gate, attack=attack, decay=0.0, sustain=1.0, release=release, sample_rate=sample_rate
    )


def _decays(taus: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``exp(-t / tau)`` for every ``tau``: a (len(taus), len(t)) float32 matrix."""
    return np.exp(
        -np.multiply.outer(1.0 / np.asarray(taus, dtype=np.float32), t.astype(np.float32))
    )


def harmonic_sum(cycles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``Σ levels[k-1] · sin(2π·k·cycles)`` over harmonics k = 1..len(levels), float32.

    The harmonics come from the recurrence sin((k+1)θ) = 2·cos θ·sin kθ - sin (k-1)θ, so
    a note costs one sine and one cosine per sample however many harmonics it has.
    ``levels`` is (K,) for fixed levels or (K, n) for levels that change over the note.
    """
    theta = _TWO_PI * (cycles - np.floor(cycles)).astype(np.float32)
    previous = np.zeros_like(theta)
    current = np.sin(theta)
    twice_cos = 2 * np.cos(theta)
    total = levels[0] * current
    for level in levels[1:]:
        previous, current = current, twice_cos * current - previous
        total += level * current
    return total.astype(np.float32)


def _audible(levels: np.ndarray, f: float, sample_rate: int) -> np.ndarray:
    """The leading harmonic levels of a note at ``f`` that stay below 0.45·rate."""
    return levels[: max(1, int(0.45 * sample_rate / f))]


def _partials(freqs: np.ndarray, levels: np.ndarray, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """A (partials, samples) matrix of sines, partials at or above 0.45·rate silenced."""
    levels = np.where(freqs < 0.45 * sample_rate, levels, 0.0).astype(np.float32)
    return sine(np.multiply.outer(freqs, t)) * levels[:, None]


# --- instruments -------------------------------------------------------------------------


class Instrument(Protocol):
    """Renders one note: ``pitch`` (MIDI), held ``gate`` seconds, ``velocity`` 0..1.

    The result is mono float32 peaking at ``velocity``; it lasts the gate plus the
    instrument's release (or its natural ring) and ends on exactly zero.
    """

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Piano:
    """A soft felt piano: stretched partials with their own two-stage decays, two
    slightly detuned strings per note for the slow beating that makes it sound alive."""

    partials: int = 14
    hardness: float = 0.55
    decay: float = 2.6
    release: float = 0.3
    inharmonicity: float = 0.00025
    detune_cents: float = 0.9

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = gate_envelope(gate, self.release, 0.002, sample_rate)
        t = _times(envelope.size, sample_rate)
        f = float(midi_to_hz(pitch))
        k = np.arange(1, self.partials + 1, dtype=np.float64)
        freqs = f * k * np.sqrt(1.0 + self.inharmonicity * k * k)
        # Harder strikes (and a harder felt) excite more upper partials.
        levels = np.exp(-(k - 1) * (0.45 - 0.3 * self.hardness * velocity)) / k
        taus = self.decay * 2.0 ** (-(pitch - 60) / 18) / (1.0 + 0.45 * (k - 1))
        detune = 2.0 ** (self.detune_cents / 1200)
        strings = _partials(freqs, levels, t, sample_rate) + _partials(
            freqs * detune, levels, t, sample_rate
        )
        decay = 0.55 * _decays(taus * 0.22, t) + 0.45 * _decays(taus, t)
        return _normalised((strings * decay).sum(axis=0) * envelope, velocity)


@dataclass(frozen=True, slots=True)
class ElectricPiano:
    """A tine electric piano in the classic two-operator FM recipe: a 1:1 modulator whose
    index falls after the strike (the bark that softens into a round tone) and a quickly
    decaying high partial for the tine's ping."""

    brightness: float = 1.0
    decay: float = 1.8
    release: float = 0.35
    tine: float = 0.10

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = gate_envelope(gate, self.release, 0.0015, sample_rate)
        t = _times(envelope.size, sample_rate)
        t32 = t.astype(np.float32)
        f = float(midi_to_hz(pitch))
        index = self.brightness * (0.35 + 0.9 * velocity) * np.exp(
            -t32 / np.float32(0.3)
        ) + np.float32(0.12)
        cycles = f * t
        body = np.sin(
            _TWO_PI * (cycles - np.floor(cycles)).astype(np.float32) + index * sine(cycles)
        )
        tone = body
        if f * 7.0 < 0.45 * sample_rate:
            tone = body + np.float32(self.tine * velocity) * sine(7.0 * cycles) * np.exp(
                -t32 / np.float32(0.035)
            )
        tau = self.decay * 2.0 ** (-(pitch - 60) / 20)
        amplitude = 0.6 * np.exp(-t32 / np.float32(tau * 0.3)) + 0.4 * np.exp(
            -t32 / np.float32(tau)
        )
        return _normalised(tone * amplitude * envelope, velocity)


@dataclass(frozen=True, slots=True)
class Pluck:
    """A plucked string (harp, nylon guitar, pizzicato): the partials a pluck at
    ``position`` along the string excites, the upper ones dying faster."""

    partials: int = 12
    position: float = 0.2
    decay: float = 1.0
    damping: float = 0.7
    release: float = 0.12

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = gate_envelope(gate, self.release, 0.001, sample_rate)
        t = _times(envelope.size, sample_rate)
        f = float(midi_to_hz(pitch))
        k = np.arange(1, self.partials + 1, dtype=np.float64)
        levels = (
            np.abs(np.sin(np.pi * k * self.position))
            / k**1.4
            * np.exp(-(k - 1) * 0.25 * (1.0 - velocity))
        )
        taus = self.decay * 2.0 ** (-(pitch - 60) / 24) / (1.0 + self.damping * (k - 1))
        levels = _audible(levels, f, sample_rate)
        tone = harmonic_sum(
            f * t, levels[:, None].astype(np.float32) * _decays(taus[: levels.size], t)
        )
        return _normalised(tone * envelope, velocity)


@dataclass(frozen=True, slots=True)
class Mallet:
    """A struck bar (marimba, glockenspiel, celesta): fixed, possibly inharmonic modes,
    each with its own level and decay. The note rings for ``ring`` seconds at least."""

    ratios: tuple[float, ...] = (1.0, 3.93, 9.24)
    levels: tuple[float, ...] = (1.0, 0.28, 0.07)
    decays: tuple[float, ...] = (0.7, 0.16, 0.05)
    ring: float = 1.6

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = gate_envelope(max(gate, self.ring) - 0.05, 0.05, 0.0008, sample_rate)
        t = _times(envelope.size, sample_rate)
        f = float(midi_to_hz(pitch))
        # Softer strokes excite the upper modes less.
        levels = np.asarray(self.levels) * (0.6 + 0.4 * velocity) ** np.arange(len(self.ratios))
        taus = np.asarray(self.decays) * 2.0 ** (-(pitch - 72) / 24)
        tone = (
            _partials(f * np.asarray(self.ratios), levels, t, sample_rate) * _decays(taus, t)
        ).sum(axis=0)
        return _normalised(tone * envelope, velocity)


@dataclass(frozen=True, slots=True)
class Pad:
    """A warm synth pad: detuned voices of a soft sawtooth, upper harmonics swelling in
    later than the fundamental (as if a filter opened), slow attack and long release."""

    harmonics: int = 8
    brightness: float = 0.45
    voices: int = 3
    detune_cents: float = 8.0
    attack: float = 0.9
    release: float = 1.4
    vibrato_hz: float = 0.0
    vibrato_cents: float = 0.0

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = adsr(
            gate,
            attack=self.attack,
            decay=2.5,
            sustain=0.8,
            release=self.release,
            sample_rate=sample_rate,
        )
        n = envelope.size
        t = _times(n, sample_rate)
        f = float(midi_to_hz(pitch))
        k = np.arange(1, self.harmonics + 1, dtype=np.float64)
        k = k[: _audible(k, f, sample_rate).size]
        levels = np.exp(-(k - 1) * (1.0 - self.brightness) * 0.9) / k
        base = f * t
        if self.vibrato_cents:
            # Vibrato fades in over the attack; its phase integral is added to every voice.
            depth = (
                self.vibrato_cents
                / 1200
                * math.log(2)
                * np.minimum(t / max(self.attack, 1e-3), 1.0)
            )
            base = (
                base + f * np.cumsum(depth * np.sin(2 * np.pi * self.vibrato_hz * t)) / sample_rate
            )
        # Higher harmonics arrive later, so the sound blooms as a filter opening would.
        bloom = (1.0 - _decays(self.attack * (0.2 + 0.12 * (k - 1)), t)) * levels[:, None].astype(
            np.float32
        )
        spread = np.linspace(-1.0, 1.0, self.voices) if self.voices > 1 else np.zeros(1)
        tone = np.zeros(n, dtype=np.float32)
        for index, offset in enumerate(spread):
            detune = 2.0 ** (offset * self.detune_cents / 1200)
            tone += harmonic_sum(base * detune + index * 0.37, bloom)
        return _normalised(tone * envelope, velocity)


@dataclass(frozen=True, slots=True)
class Strings(Pad):
    """A string section: a brighter, more detuned pad with a vibrato."""

    harmonics: int = 12
    brightness: float = 0.75
    voices: int = 4
    detune_cents: float = 11.0
    attack: float = 0.45
    release: float = 0.9
    vibrato_hz: float = 5.2
    vibrato_cents: float = 9.0


@dataclass(frozen=True, slots=True)
class SoftLead:
    """A breathy, flute-like lead: a nearly pure tone with a little of the 2nd and 3rd
    harmonics, a gentle attack and a vibrato that comes in as the note is held."""

    levels: tuple[float, ...] = (1.0, 0.3, 0.14, 0.07, 0.03)
    attack: float = 0.05
    release: float = 0.22
    vibrato_hz: float = 5.0
    vibrato_cents: float = 14.0
    vibrato_delay: float = 0.3

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = adsr(
            gate,
            attack=self.attack,
            decay=1.2,
            sustain=0.85,
            release=self.release,
            sample_rate=sample_rate,
        )
        t = _times(envelope.size, sample_rate)
        f = float(midi_to_hz(pitch))
        depth = (
            self.vibrato_cents
            / 1200
            * math.log(2)
            * np.clip((t - self.vibrato_delay) / 0.4, 0.0, 1.0)
        )
        base = f * (t + np.cumsum(depth * np.sin(2 * np.pi * self.vibrato_hz * t)) / sample_rate)
        k = np.arange(len(self.levels))
        levels = _audible(np.asarray(self.levels) * (0.7 + 0.3 * velocity) ** k, f, sample_rate)
        tone = harmonic_sum(base, levels.astype(np.float32))
        return _normalised(tone * envelope, velocity)


@dataclass(frozen=True, slots=True)
class Bass:
    """A round finger bass: a sustained fundamental and a little 2nd-4th harmonic that
    fades quickly after the pluck."""

    levels: tuple[float, ...] = (1.0, 0.5, 0.22, 0.1)
    pluck: float = 0.25
    decay: float = 1.6
    release: float = 0.07

    def render(
        self, pitch: float, gate: float, velocity: float, sample_rate: int = SAMPLE_RATE
    ) -> np.ndarray:
        envelope = gate_envelope(gate, self.release, 0.006, sample_rate)
        t = _times(envelope.size, sample_rate)
        f = float(midi_to_hz(pitch))
        k = np.arange(1, len(self.levels) + 1, dtype=np.float64)
        taus = np.concatenate([[self.decay], self.pluck / k[1:]])
        levels = _audible(np.asarray(self.levels, dtype=np.float32), f, sample_rate)
        tone = harmonic_sum(f * t, levels[:, None] * _decays(taus[: levels.size], t))
        return _normalised(tone * envelope, velocity)


def _normalised(tone: np.ndarray, velocity: float) -> np.ndarray:
    peak = float(np.max(np.abs(tone))) if tone.size else 0.0
    if peak == 0.0:
        return tone.astype(np.float32)
    return (tone * np.float32(velocity / peak)).astype(np.float32)


# --- drums -------------------------------------------------------------------------------


def band_limit(
    signal: np.ndarray,
    *,
    low_hz: float | None = None,
    high_hz: float | None = None,
    order: int = 2,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Zero-phase Butterworth-shaped band limiting in the frequency domain.

    For one-shot sounds and noise bursts (whole-array FFT); ``low_hz`` is the high-pass
    corner, ``high_hz`` the low-pass corner, ``order`` the slope (6 dB/octave per order).
    """
    n = signal.shape[-1]
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    response = np.ones_like(freqs)
    with np.errstate(divide="ignore"):
        if low_hz:
            response /= np.sqrt(1.0 + (low_hz / np.maximum(freqs, 1e-6)) ** (2 * order))
        if high_hz:
            response /= np.sqrt(1.0 + (freqs / high_hz) ** (2 * order))
    spectrum = np.fft.rfft(signal.astype(np.float32), axis=-1) * response.astype(np.float32)
    return np.fft.irfft(spectrum, n, axis=-1).astype(np.float32)


def _noise(seconds: float, seed: int, sample_rate: int) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .standard_normal(samples(seconds, sample_rate))
        .astype(np.float32)
    )


def _peak_one(sound: np.ndarray) -> np.ndarray:
    return (sound / np.float32(np.max(np.abs(sound)))).astype(np.float32)


def kick(
    *,
    pitch_hz: float = 50.0,
    sweep_hz: float = 130.0,
    sweep_time: float = 0.04,
    decay: float = 0.32,
    click: float = 0.22,
    seed: int = 1,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A soft, round kick: a sine swept down from ``sweep_hz`` to ``pitch_hz`` plus a
    short felt-beater click, lightly saturated."""
    length = decay * 4.5
    t = _times(samples(length, sample_rate), sample_rate)
    freq = pitch_hz + (sweep_hz - pitch_hz) * np.exp(-t / sweep_time)
    body = sine(np.cumsum(freq) / sample_rate) * np.exp(-t / decay).astype(np.float32)
    beater = band_limit(
        _noise(length, seed, sample_rate), low_hz=900, high_hz=4500, sample_rate=sample_rate
    )
    beater *= np.exp(-t / 0.004).astype(np.float32)
    beater /= np.float32(np.max(np.abs(beater)))
    sound = np.tanh(1.6 * (body + click * beater)) * release_tail(t.size, 0.02, sample_rate)
    return _peak_one(sound)


def snare(
    *,
    tone_hz: float = 185.0,
    decay: float = 0.16,
    body: float = 0.55,
    brightness_hz: float = 5500.0,
    seed: int = 2,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A snare: two drum-head modes and a band of snare-wire noise."""
    length = decay * 5
    t = _times(samples(length, sample_rate), sample_rate)
    heads = (sine(tone_hz * t) + 0.6 * sine(tone_hz * 1.78 * t)) * np.exp(
        -t / (decay * 0.45)
    ).astype(np.float32)
    wires = band_limit(
        _noise(length, seed, sample_rate),
        low_hz=1200,
        high_hz=brightness_hz,
        sample_rate=sample_rate,
    )
    wires = wires / np.float32(np.max(np.abs(wires))) * np.exp(-t / decay).astype(np.float32)
    sound = (body * heads + wires) * np.minimum(t / 0.0008, 1.0).astype(np.float32)
    return _peak_one(sound * release_tail(t.size, 0.02, sample_rate))


def brush(*, decay: float = 0.14, seed: int = 3, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A brushed snare: a soft-edged swish of mid-high noise with a light head tone."""
    length = decay * 5
    t = _times(samples(length, sample_rate), sample_rate)
    swish = band_limit(
        _noise(length, seed, sample_rate), low_hz=1800, high_hz=8000, sample_rate=sample_rate
    )
    swish /= np.float32(np.max(np.abs(swish)))
    envelope = np.minimum(t / 0.003, 1.0) * np.exp(-t / decay)
    head = 0.3 * sine(200.0 * t) * np.exp(-t / 0.05)
    return _peak_one(
        (swish * envelope.astype(np.float32) + head) * release_tail(t.size, 0.02, sample_rate)
    )


def rim(*, seed: int = 4, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A cross-stick click: woody resonances that die in a few tens of milliseconds."""
    length = 0.12
    t = _times(samples(length, sample_rate), sample_rate)
    wood = sine(1750.0 * t) * np.exp(-t / 0.012) + 0.6 * sine(480.0 * t) * np.exp(-t / 0.02)
    tick = band_limit(_noise(length, seed, sample_rate), low_hz=2500, sample_rate=sample_rate)
    tick = tick / np.float32(np.max(np.abs(tick))) * np.exp(-t / 0.003).astype(np.float32)
    return _peak_one(
        (wood.astype(np.float32) + 0.5 * tick) * release_tail(t.size, 0.01, sample_rate)
    )


def clap(*, seed: int = 5, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A hand clap: three quick bursts (several hands, not quite together) and a short
    room tail, band-limited around 1-3 kHz."""
    length = 0.35
    t = _times(samples(length, sample_rate), sample_rate)
    envelope = np.exp(-t / 0.12) * 0.5
    for start in (0.0, 0.011, 0.023):
        envelope = envelope + np.where(t >= start, np.exp(-np.maximum(t - start, 0) / 0.006), 0.0)
    noise = band_limit(
        _noise(length, seed, sample_rate), low_hz=800, high_hz=3200, sample_rate=sample_rate
    )
    return _peak_one(noise * envelope.astype(np.float32) * release_tail(t.size, 0.02, sample_rate))


def hat(*, decay: float = 0.045, seed: int = 6, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A hi-hat: metallic inharmonic partials and bright noise; ``decay`` ~0.04 s for a
    closed hat, ~0.3 s for an open one."""
    length = max(0.08, decay * 5)
    t = _times(samples(length, sample_rate), sample_rate)
    # The six square-wave ratios of the classic analogue hat, rendered as their first partial.
    metal = sine(
        np.multiply.outer(np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0]) * 9.7, t)
    ).sum(axis=0)
    noise = _noise(length, seed, sample_rate)
    sound = band_limit(
        0.5 * metal + noise, low_hz=6000, high_hz=13000, order=3, sample_rate=sample_rate
    )
    envelope = np.minimum(t / 0.0005, 1.0) * np.exp(-t / decay)
    return _peak_one(sound * envelope.astype(np.float32) * release_tail(t.size, 0.01, sample_rate))


def shaker(*, seed: int = 7, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A shaker: a band of high noise with a soft, quick swell rather than a hard hit."""
    length = 0.16
    t = _times(samples(length, sample_rate), sample_rate)
    noise = band_limit(
        _noise(length, seed, sample_rate), low_hz=3000, high_hz=9000, sample_rate=sample_rate
    )
    envelope = (t / 0.012) * np.exp(1.0 - t / 0.012)
    return _peak_one(noise * envelope.astype(np.float32) * release_tail(t.size, 0.02, sample_rate))


def tom(
    *, pitch_hz: float = 95.0, decay: float = 0.4, seed: int = 8, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A low, cinematic tom: a sine that sags slightly in pitch, with a stick attack."""
    length = decay * 4
    t = _times(samples(length, sample_rate), sample_rate)
    freq = pitch_hz * (1.0 + 0.35 * np.exp(-t / 0.05))
    body = sine(np.cumsum(freq) / sample_rate) * np.exp(-t / decay).astype(np.float32)
    stick = band_limit(
        _noise(length, seed, sample_rate), low_hz=600, high_hz=5000, sample_rate=sample_rate
    )
    stick = stick / np.float32(np.max(np.abs(stick))) * np.exp(-t / 0.008).astype(np.float32)
    return _peak_one(np.tanh(1.3 * (body + 0.25 * stick)) * release_tail(t.size, 0.03, sample_rate))


def cymbal(*, decay: float = 1.4, seed: int = 9, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A soft crash (mallet on a suspended cymbal): a washy band of high noise."""
    length = decay * 3.5
    t = _times(samples(length, sample_rate), sample_rate)
    noise = band_limit(
        _noise(length, seed, sample_rate), low_hz=2500, high_hz=10000, sample_rate=sample_rate
    )
    envelope = np.minimum(t / 0.015, 1.0) * np.exp(-t / decay)
    return _peak_one(noise * envelope.astype(np.float32) * release_tail(t.size, 0.05, sample_rate))


def release_tail(n: int, seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Ones with a linear ramp to zero over the last ``seconds`` (no click at the end)."""
    ramp = min(n, samples(seconds, sample_rate))
    out = np.ones(n, dtype=np.float32)
    if ramp:
        out[n - ramp :] = np.linspace(1.0, 0.0, ramp, dtype=np.float32)
    return out


# --- effects -----------------------------------------------------------------------------


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power pan law: ``pan`` -1 (left) .. +1 (right); L² + R² = 1."""
    angle = (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4
    return math.cos(angle), math.sin(angle)


def reverb_impulse(
    seconds: float = 2.2,
    *,
    predelay: float = 0.018,
    damping: float = 0.7,
    seed: int = 10,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A stereo room impulse response, shape (2, n): decorrelated noise decaying 60 dB in
    ``seconds`` (lows a little slower, highs faster by ``damping``), after a pre-delay."""
    n = samples(seconds * 1.1, sample_rate)
    t = _times(n, sample_rate)
    noise = np.random.default_rng(seed).standard_normal((2, n)).astype(np.float32)
    low = band_limit(noise, high_hz=500, sample_rate=sample_rate)
    high = band_limit(noise, low_hz=4000, sample_rate=sample_rate)
    mid = noise - low - high
    ir = np.zeros_like(noise)
    for band, rt60 in (
        (low, seconds * 1.15),
        (mid, seconds),
        (high, seconds * (1.0 - 0.7 * damping)),
    ):
        ir += band * np.exp(-_RT60 * t / rt60).astype(np.float32)
    ir *= np.minimum(t / 0.006, 1.0).astype(np.float32) * release_tail(n, 0.1, sample_rate)
    ir = np.concatenate([np.zeros((2, samples(predelay, sample_rate)), np.float32), ir], axis=1)
    return (ir / np.sqrt(np.sum(ir.astype(np.float64) ** 2, axis=1, keepdims=True))).astype(
        np.float32
    )


def convolve(signal: np.ndarray, impulse: np.ndarray) -> np.ndarray:
    """``signal`` (mono, n) convolved with a stereo ``impulse`` (2, m), cut to n samples.

    Overlap-add with FFT blocks a few times the impulse's length; silent blocks (the
    intro of a sparse part) are skipped.
    """
    n, m = signal.size, impulse.shape[1]
    size = 1 << math.ceil(math.log2(4 * m))
    hop = size - m + 1
    spectrum = np.fft.rfft(impulse, size, axis=1)
    out = np.zeros((2, n + size), dtype=np.float32)
    for start in range(0, n, hop):
        block = signal[start : start + hop]
        if not block.any():
            continue
        out[:, start : start + size] += np.fft.irfft(
            np.fft.rfft(block, size) * spectrum, size, axis=1
        )
    return out[:, :n]


def ping_pong_echo(
    signal: np.ndarray, delay: int, *, feedback: float = 0.35, repeats: int = 6
) -> np.ndarray:
    """Echoes of a mono ``signal`` bouncing left, right, left..., each ``delay`` samples
    after the last, ``feedback`` times as loud and a little darker. Shape (2, n)."""
    n = signal.size
    out = np.zeros((2, n), dtype=np.float32)
    echo = signal.astype(np.float32)
    for repeat in range(1, repeats + 1):
        offset = repeat * delay
        if offset >= n:
            break
        echo = 0.5 * (echo + np.concatenate([echo[:1], echo[:-1]]))
        out[(repeat - 1) % 2, offset:] += np.float32(feedback**repeat) * echo[: n - offset]
    return out


def place(
    buffer: np.ndarray, sound: np.ndarray, at: int, *, gain: float = 1.0, pan: float = 0.0
) -> None:
    """Add mono ``sound`` into ``buffer`` from sample ``at``, cut at the buffer's end: a
    stereo buffer (2, n) gets it panned (equal power), a mono one (1, n) as it is."""
    length = buffer.shape[1]
    if at >= length or sound.size == 0:
        return
    if at < 0:
        sound, at = sound[-at:], 0
    piece = sound[: length - at] * np.float32(gain)
    if buffer.shape[0] == 1:
        buffer[0, at : at + piece.size] += piece
        return
    left, right = pan_gains(pan)
    buffer[0, at : at + piece.size] += np.float32(left) * piece
    buffer[1, at : at + piece.size] += np.float32(right) * piece


class Mixer:
    """The mix bus: stereo stems summed dry, with reverb and echo sends."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.dry = np.zeros((2, length), dtype=np.float32)
        self.reverb_send = np.zeros(length, dtype=np.float32)
        self.echo_send = np.zeros(length, dtype=np.float32)

    def add(
        self,
        stem: np.ndarray,
        send: np.ndarray,
        *,
        gain: float = 1.0,
        reverb: float = 0.0,
        echo: float = 0.0,
    ) -> None:
        """Add a stereo ``stem`` (2, length) to the dry bus and its mono ``send`` (the
        same sounds unpanned, length samples) to the reverb and echo at those levels."""
        self.dry += np.float32(gain) * stem
        if reverb:
            self.reverb_send += np.float32(gain * reverb) * send
        if echo:
            self.echo_send += np.float32(gain * echo) * send

    def mixdown(
        self, *, impulse: np.ndarray, echo_delay: int, echo_feedback: float = 0.35
    ) -> np.ndarray:
        """Dry bus + reverb return + echo return (the echoes get some reverb too)."""
        echoes = ping_pong_echo(self.echo_send, echo_delay, feedback=echo_feedback)
        wet = convolve(self.reverb_send + 0.5 * echoes.mean(axis=0), impulse)
        return self.dry + wet + echoes


# --- mastering ---------------------------------------------------------------------------


def _k_weighting_power(freqs: np.ndarray, sample_rate: int) -> np.ndarray:
    """|H(f)|² of the ITU-R BS.1770 K-weighting (high shelf, then the RLB high-pass),
    designed for ``sample_rate`` as in the standard's reference filters."""
    z = np.exp(-2j * np.pi * freqs / sample_rate)

    def biquad(b: Sequence[float], a: Sequence[float]) -> np.ndarray:
        return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)

    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = biquad(
        ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0),
    )
    k = math.tan(math.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    highpass = biquad((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0))
    return np.abs(shelf * highpass) ** 2


def integrated_loudness(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness (LUFS) of stereo ``audio`` (2, n) per ITU-R BS.1770-4.

    K-weighted mean squares are taken per 100 ms in the frequency domain (each block
    filtered on its own, which ignores the filter's memory across block edges: within a
    few hundredths of a LU of the time-domain filter for music); the 400 ms gating blocks
    with 75% overlap are then sums of four of those, gated at -70 LUFS and at -10 LU below
    the ungated level. ``-inf`` for silence.
    """
    step = sample_rate // 10
    blocks = audio.shape[1] // step
    if blocks < 4:
        raise ValueError("loudness needs at least 400 ms of audio")
    frames = audio[:, : blocks * step].reshape(audio.shape[0], blocks, step).astype(np.float32)
    # Blocks below -80 dBFS cannot pass the -70 LUFS gate (K-weighting adds at most
    # about +4 dB): leave them out of the FFT, which matters for sparse parts.
    audible = np.einsum("cbs,cbs->b", frames, frames) / step > 1e-8
    weights = np.full(step // 2 + 1, 2.0)
    weights[0] = 1.0
    if step % 2 == 0:
        weights[-1] = 1.0
    weights *= _k_weighting_power(np.fft.rfftfreq(step, 1.0 / sample_rate), sample_rate)
    spectrum = np.fft.rfft(frames[:, audible], axis=2)
    summed = np.zeros(blocks)
    summed[audible] = ((spectrum.real**2 + spectrum.imag**2) @ weights.astype(np.float32)).sum(
        axis=0
    ) / step**2
    gating = np.convolve(summed, np.full(4, 0.25), mode="valid")
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(gating)
    kept = gating[loudness > -70.0]
    if kept.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10.0
    kept = gating[loudness > max(-70.0, relative)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def limit(
    audio: np.ndarray, ceiling: float, *, window: float = 0.004, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Brickwall peak limiting of (channels, n) audio to ``ceiling`` (linear).

    The gain each ``window`` needs is min-filtered over ±3 windows, then averaged over
    ±2: every value averaged for a window (or its neighbours, between which the gain is
    interpolated per sample) is at or below what that window needs, so no sample passes
    the ceiling, and the gain moves smoothly instead of snapping. Quiet passages are left
    untouched.
    """
    step = max(1, samples(window, sample_rate))
    n = audio.shape[1]
    blocks = -(-n // step)
    padded = np.zeros((audio.shape[0], blocks * step), dtype=np.float32)
    padded[:, :n] = audio
    peaks = np.abs(padded).reshape(audio.shape[0], blocks, step).max(axis=(0, 2))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    radius = 2
    floor = np.lib.stride_tricks.sliding_window_view(
        np.pad(need, radius + 1, mode="edge"), 2 * radius + 3
    ).min(axis=1)
    smooth = np.convolve(
        np.pad(floor, radius, mode="edge"),
        np.full(2 * radius + 1, 1 / (2 * radius + 1)),
        mode="valid",
    )
    centres = (np.arange(blocks) + 0.5) * step
    gain = np.interp(np.arange(n), centres, smooth).astype(np.float32)
    return audio * gain


def apply_fades(
    audio: np.ndarray, *, fade_in: float, fade_out: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Raised-cosine fade in at the start and fade out to silence at the end."""
    out = audio.copy()
    n = out.shape[1]
    for seconds, at_start in ((fade_in, True), (fade_out, False)):
        length = min(n, samples(seconds, sample_rate))
        if length == 0:
            continue
        curve = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        if at_start:
            out[:, :length] *= curve
        else:
            out[:, n - length :] *= curve[::-1]
    return out


def master(
    audio: np.ndarray, *, target_lufs: float, ceiling: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Gain to ``target_lufs`` integrated loudness, peaks limited to ``ceiling``.

    Limiting lowers the loudness a little, so the gain is corrected once more after it
    (a small step, after which the limiter runs again).
    """
    out = audio
    for _ in range(3):
        loudness = integrated_loudness(out, sample_rate)
        if not math.isfinite(loudness):
            return out
        out = limit(
            out * np.float32(10 ** ((target_lufs - loudness) / 20)),
            ceiling,
            sample_rate=sample_rate,
        )
        if abs(integrated_loudness(out, sample_rate) - target_lufs) < 0.1:
            break
    return out.astype(np.float32)
