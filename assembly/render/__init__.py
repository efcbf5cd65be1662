"""Turning a timeline into ffmpeg work: layout in frames, mode choice, commands, joining.

Two ways to make the same video:

- **full** — one ffmpeg run, one filtergraph, one encode of every frame. Needed when every
  frame changes (a watermark) or when the clips cannot be stream-copied.
- **smart** — stream-copy each clip's untouched body and encode only what changes (the
  transitions, stills, captioned clips and trimmed edges, up to the nearest clean cut
  point), then splice the pieces and the music without re-encoding.

:func:`choose_mode` picks one; both follow the same :class:`~assembly.render.layout.Layout`,
so they produce the same frames at the same times.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from assembly.render.layout import Layout, SmartPlan, plan_smart
from assembly.render.media import SourceInfo
from assembly.timeline import Timeline

#: A smart render must copy at least this share of the frames to be worth its extra steps.
SMART_MIN_COPIED_SHARE = 0.5
STREAM_COPY_CODECS = frozenset({"h264"})


class RenderMode(enum.StrEnum):
    AUTO = "auto"
    FULL = "full"
    SMART = "smart"


@dataclass(frozen=True, slots=True)
class ModeDecision:
    mode: RenderMode
    reason: str
    plan: SmartPlan | None = None


def copyable_clips(timeline: Timeline, sources: Sequence[SourceInfo]) -> list[bool]:
    """Which clips' frames may be stream-copied into the output unchanged.

    A clip qualifies when it carries no caption and is already in the output's format:
    H.264 4:2:0 at the output size and frame rate (constant), with the same codec headers
    as the first clip (so all copied packets can share one stream).
    """
    reference = sources[0].stream_copy_key()
    return [
        not clip.caption
        and source.codec in STREAM_COPY_CODECS
        and source.pix_fmt == "yuv420p"
        and (source.width, source.height) == (timeline.width, timeline.height)
        and source.cfr
        and source.fps == timeline.fps
        and source.stream_copy_key() == reference
        for clip, source in zip(timeline.clips, sources, strict=True)
    ]


def choose_mode(
    timeline: Timeline,
    layout: Layout,
    sources: Sequence[SourceInfo],
    requested: RenderMode = RenderMode.AUTO,
) -> ModeDecision:
    """Full or smart, and why. An explicit ``requested`` mode is honoured."""
    if requested is RenderMode.FULL:
        return ModeDecision(RenderMode.FULL, "full render requested")
    if timeline.watermark is not None:
        copyable = [False] * len(sources)
        why_not = "a watermark changes every frame"
    else:
        copyable = copyable_clips(timeline, sources)
        why_not = (
            "" if any(copyable) else "no clip can be stream-copied (format differs or captioned)"
        )
    plan = plan_smart(layout, sources, copyable)
    share = plan.copied_frames / layout.total_frames
    if requested is RenderMode.SMART:
        return ModeDecision(
            RenderMode.SMART, f"smart render requested; {share:.0%} of frames copied", plan
        )
    if why_not:
        return ModeDecision(RenderMode.FULL, why_not)
    if share < SMART_MIN_COPIED_SHARE:
        return ModeDecision(RenderMode.FULL, f"only {share:.0%} of frames could be stream-copied")
    return ModeDecision(RenderMode.SMART, f"{share:.0%} of frames stream-copied", plan)
