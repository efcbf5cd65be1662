"""What a render is asked to make: the timeline.

A :class:`Timeline` describes the finished video declaratively — output size and frame
rate, the clips in order (each optionally trimmed and captioned), the transition between
neighbours, an optional title card and intro still in front, the music bed and an optional
watermark. It holds no decisions about *how* to render; :mod:`assembly.render` turns it
into ffmpeg work. Everything is a frozen msgspec Struct so a timeline can travel as a job
payload and be hashed or compared.

Times are in seconds here and converted to whole frames once, when a render is planned.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

Seconds = Annotated[float, msgspec.Meta(ge=0)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class TransitionKind(enum.StrEnum):
    """How one shot gives way to the next."""

    CUT = "cut"
    CROSSFADE = "crossfade"
    FADE_THROUGH_BLACK = "fade-through-black"
    SLIDE = "slide"
    WIPE = "wipe"


class WatermarkCorner(enum.StrEnum):
    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    """The transition used between every pair of neighbouring shots.

    ``duration`` is how long the two shots overlap; a cut has no overlap, whatever
    ``duration`` says.
    """

    kind: TransitionKind = TransitionKind.CROSSFADE
    duration: Seconds = 0.5

    @property
    def overlap(self) -> float:
        return 0.0 if self.kind is TransitionKind.CUT else self.duration


class Clip(msgspec.Struct, frozen=True, kw_only=True):
    """One video clip, optionally trimmed to ``[trim_start, trim_end)`` of its own time."""

    path: str
    trim_start: Seconds = 0.0
    trim_end: PositiveSeconds | None = None
    caption: str | None = None

    def __post_init__(self) -> None:
        if self.trim_end is not None and self.trim_end <= self.trim_start:
            raise ValueError(f"clip {self.path}: trim_end must be after trim_start")


class IntroStill(msgspec.Struct, frozen=True, kw_only=True):
    """A still image (typically the original photo) held before the first clip.

    It cuts straight into the first clip, whatever the transition: the clip is the photo
    brought to life and starts on the same picture.
    """

    path: str
    duration: PositiveSeconds = 0.5


class TitleCard(msgspec.Struct, frozen=True, kw_only=True):
    """Text on a dark card at the very start of the video."""

    text: str
    subtitle: str | None = None
    duration: PositiveSeconds = 2.5

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a title card needs some text")


class Music(msgspec.Struct, frozen=True, kw_only=True):
    """The music bed.

    The track is played from ``start`` (seconds into the track), normalised to
    ``loudness`` LUFS, scaled by ``volume``, faded in and out. A track shorter than the
    video loops, the loops joined by a ``loop_crossfade``-second crossfade; a longer one is
    cut at the end of the video (under the fade-out).
    """

    path: str
    start: Seconds = 0.0
    volume: Annotated[float, msgspec.Meta(ge=0, le=4)] = 1.0
    fade_in: Seconds = 0.0
    fade_out: Seconds = 2.0
    loudness: Annotated[float, msgspec.Meta(ge=-40, le=-5)] = -16.0
    loop_crossfade: Seconds = 1.0


class Watermark(msgspec.Struct, frozen=True, kw_only=True):
    """A PNG laid over every frame in one corner.

    ``margin`` is the gap to the frame edges as a share of the frame's shorter side.
    """

    path: str
    corner: WatermarkCorner = WatermarkCorner.BOTTOM_RIGHT
    opacity: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    margin: Annotated[float, msgspec.Meta(ge=0, le=0.25)] = 0.03


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a render needs to know about the video to make."""

    clips: list[Clip]
    width: Annotated[int, msgspec.Meta(ge=16, le=4096)] = 1280
    height: Annotated[int, msgspec.Meta(ge=16, le=4096)] = 720
    fps: Annotated[int, msgspec.Meta(ge=1, le=120)] = 24
    transition: Transition = Transition()
    title: TitleCard | None = None
    intro: IntroStill | None = None
    music: Music | None = None
    watermark: Watermark | None = None

    def __post_init__(self) -> None:
        if not self.clips:
            raise ValueError("a timeline needs at least one clip")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"output size {self.width}x{self.height} must be even (yuv420p)")


def decode_timeline(data: bytes | str) -> Timeline:
    """Parse and validate a timeline from JSON (raises ``msgspec.ValidationError``)."""
    return msgspec.json.decode(data, type=Timeline)
