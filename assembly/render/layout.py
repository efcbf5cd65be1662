"""The timeline in whole frames: where every shot sits on the output, and what a smart
render copies versus encodes.

All of this is arithmetic on integers — no I/O — so it is the part unit tests pin down.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from assembly.render.media import SourceInfo
from assembly.timeline import Timeline, TransitionKind


class SegmentKind(enum.StrEnum):
    TITLE = "title"
    INTRO = "intro"
    CLIP = "clip"


@dataclass(frozen=True, slots=True)
class Segment:
    """One shot on the output timeline.

    A segment shows ``length`` frames starting at output frame ``out_start``; its first
    ``head`` frames overlap the previous shot and its last ``tail`` frames the next one
    (the transitions). Clip segments show source frames from ``source_start`` on.
    """

    kind: SegmentKind
    out_start: int
    length: int
    head: int
    tail: int
    clip_index: int | None = None
    source_start: int = 0
    caption: str | None = None

    @property
    def out_end(self) -> int:
        return self.out_start + self.length

    @property
    def solo(self) -> tuple[int, int]:
        """Output frames where this shot is on screen alone."""
        return self.out_start + self.head, self.out_end - self.tail


@dataclass(frozen=True, slots=True)
class Layout:
    width: int
    height: int
    fps: int
    transition: TransitionKind
    transition_frames: int
    segments: tuple[Segment, ...]

    @property
    def total_frames(self) -> int:
        return self.segments[-1].out_end

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps

    def clip_segments(self) -> list[Segment]:
        return [s for s in self.segments if s.kind is SegmentKind.CLIP]

    def cut_frames(self) -> list[float]:
        """Where each shot gives way to the next: the middle of each transition, in frames."""
        return [s.out_end - s.tail / 2 for s in self.segments[:-1]]


def seconds_to_frames(seconds: float, fps: int) -> int:
    return round(seconds * fps)


def source_frames_at(source: SourceInfo, fps: int) -> int:
    """How many output frames a source yields once converted to ``fps``."""
    if source.fps == fps:
        return source.frames
    return max(1, round(source.frames / source.fps * fps))


def plan_layout(timeline: Timeline, sources: Sequence[SourceInfo]) -> Layout:
    """Place every shot of ``timeline`` on the output, in frames.

    ``sources[i]`` describes ``timeline.clips[i]``. Raises ``ValueError`` when a shot is too
    short for the transitions on both its sides.
    """
    if len(sources) != len(timeline.clips):
        raise ValueError("one SourceInfo per clip is needed")
    fps = timeline.fps
    overlap = seconds_to_frames(timeline.transition.overlap, fps)

    shots: list[tuple[SegmentKind, int, int | None, int, str | None]] = []
    if timeline.title is not None:
        shots.append(
            (SegmentKind.TITLE, seconds_to_frames(timeline.title.duration, fps), None, 0, None)
        )
    if timeline.intro is not None:
        shots.append(
            (SegmentKind.INTRO, seconds_to_frames(timeline.intro.duration, fps), None, 0, None)
        )
    for index, (clip, source) in enumerate(zip(timeline.clips, sources, strict=True)):
        available = source_frames_at(source, fps)
        start = min(seconds_to_frames(clip.trim_start, fps), available - 1)
        end = (
            available
            if clip.trim_end is None
            else min(available, seconds_to_frames(clip.trim_end, fps))
        )
        if end <= start:
            raise ValueError(f"clip {index + 1} ({clip.path}) has no frames left after trimming")
        shots.append((SegmentKind.CLIP, end - start, index, start, clip.caption or None))

    # The intro still is the photo the first clip was animated from: it cuts straight
    # into its own animation, which starts on that very picture.
    overlaps = [
        0 if (a[0] is SegmentKind.INTRO and b[0] is SegmentKind.CLIP) else overlap
        for a, b in itertools.pairwise(shots)
    ]
    segments: list[Segment] = []
    out = 0
    for i, (kind, length, clip_index, source_start, caption) in enumerate(shots):
        head = overlaps[i - 1] if i > 0 else 0
        tail = overlaps[i] if i < len(shots) - 1 else 0
        if length < head + tail or length < 1:
            what = f"clip {clip_index + 1}" if clip_index is not None else f"the {kind.value}"
            raise ValueError(
                f"{what} lasts {length / fps:.2f} s, too short for its "
                f"{timeline.transition.duration:g} s transitions"
            )
        segment = Segment(kind, out - head, length, head, tail, clip_index, source_start, caption)
        segments.append(segment)
        out = segment.out_end
    return Layout(
        width=timeline.width,
        height=timeline.height,
        fps=fps,
        transition=timeline.transition.kind,
        transition_frames=overlap,
        segments=tuple(segments),
    )


@dataclass(frozen=True, slots=True)
class Body:
    """Source frames ``[source_start, source_end)`` of a clip, stream-copied to the output
    from output frame ``out_start`` on."""

    clip_index: int
    source_start: int
    source_end: int
    out_start: int

    @property
    def length(self) -> int:
        return self.source_end - self.source_start

    @property
    def out_end(self) -> int:
        return self.out_start + self.length


@dataclass(frozen=True, slots=True)
class Window:
    """Output frames ``[out_start, out_end)`` that are encoded; ``enc_start`` is where they
    begin in the stream of encoded windows."""

    out_start: int
    out_end: int
    enc_start: int

    @property
    def length(self) -> int:
        return self.out_end - self.out_start


@dataclass(frozen=True, slots=True)
class SmartPlan:
    """The output cut into stream-copied bodies and encoded windows, in output order."""

    parts: tuple[Body | Window, ...]

    @property
    def windows(self) -> list[Window]:
        return [p for p in self.parts if isinstance(p, Window)]

    @property
    def bodies(self) -> list[Body]:
        return [p for p in self.parts if isinstance(p, Body)]

    @property
    def encoded_frames(self) -> int:
        return sum(w.length for w in self.windows)

    @property
    def copied_frames(self) -> int:
        return sum(b.length for b in self.bodies)


def plan_smart(
    layout: Layout, sources: Sequence[SourceInfo], copyable: Sequence[bool]
) -> SmartPlan:
    """Split the output into bodies (copied) and windows (encoded).

    A clip's body is the longest run of its solo frames that starts and ends on clean cut
    points of its file; everything else — transitions, stills, trimmed edges up to the
    next cut point, clips that may not be copied (``copyable[i]`` false) — is encoded.
    """
    bodies: list[Body] = []
    for segment in layout.clip_segments():
        index = segment.clip_index
        assert index is not None
        if not copyable[index]:
            continue
        lo = segment.source_start + segment.head
        hi = segment.source_start + segment.length - segment.tail
        cuts = sources[index].cut_points
        start = next((c for c in cuts if c >= lo), None)
        end = next((c for c in reversed(cuts) if c <= hi), None)
        if start is None or end is None or end <= start:
            continue
        bodies.append(Body(index, start, end, segment.out_start + start - segment.source_start))

    parts: list[Body | Window] = []
    cursor = 0
    encoded = 0
    for body in bodies:
        if body.out_start > cursor:
            parts.append(Window(cursor, body.out_start, encoded))
            encoded += body.out_start - cursor
        parts.append(body)
        cursor = body.out_end
    if cursor < layout.total_frames:
        parts.append(Window(cursor, layout.total_frames, encoded))
    return SmartPlan(tuple(parts))
