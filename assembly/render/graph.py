"""The video filtergraph: shots, transitions, captions and watermark in one ffmpeg graph.

The same builder makes the whole video (a full render: one window covering everything)
and the windows a smart render encodes, so both paths share every pixel operation.

The graph is built so that neither memory nor per-frame work grows with the number of
clips:

- **Two layers, one blend.** The *base* layer holds one frame per output frame: each shot's
  frames, and during a transition the outgoing shot's. The *incoming* layer holds only the
  incoming shot's frames of each transition, retimed onto the transition. A single
  ``overlay`` lays the incoming layer over the base while a transition runs (its alpha
  ramped by ``fade`` for crossfades, its position or reveal moved for slides and wipes) and
  passes base frames through untouched otherwise. A chain of ``xfade`` filters would need a
  filter instance — and its frame pools, in 4:4:4 — per transition.
- **Clips are never opened side by side.** Uniform clips (the normal case: all stored with
  the same encoder settings) are read through two concat-demuxer inputs that open one file
  at a time: stream *A* feeds the base layer, stream *B* the incoming layer. A ``select``
  keeps the wanted frames of each. Every concat entry gets a time slot longer than the
  frames it delivers, so frames decoded only as seek pre-roll or past an out point fall
  into a gap and are dropped without being confused with their neighbours' frames.

Clips that differ in codec, size or frame rate (arbitrary files given to the CLI) cannot
share a decoder; each then gets its own input, normalised to the output size and rate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assembly.render.layout import Layout, SegmentKind, Window
from assembly.render.media import SourceInfo
from assembly.timeline import Timeline, TransitionKind

#: Gap (seconds) after each concat entry's frames; larger than any run of frames decoded
#: past an out point (a few frames of B-frame reordering).
CONCAT_SLOT_GUARD = 1.0


@dataclass(frozen=True, slots=True)
class Span:
    """Local frames ``[start, end)`` of layout segment ``segment``."""

    segment: int
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Placement:
    """An image overlaid at ``(x, y)``."""

    path: str
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Assets:
    """Images prepared for a render (title card, captions, watermark), already on disk."""

    title_png: str | None = None
    captions: dict[int, Placement] = field(default_factory=dict)
    watermark: Placement | None = None
    watermark_opacity: float = 1.0


@dataclass(frozen=True, slots=True)
class Layers:
    """What the encoded stream is made of.

    ``base`` spans, back to back, are the encoded frames in order. ``incoming`` spans are
    the incoming sides of the transitions, the i-th starting at encoded frame
    ``transitions[i]``.
    """

    base: list[Span]
    incoming: list[Span]
    transitions: list[int]


@dataclass(slots=True)
class VideoGraph:
    """Inputs, filters and side files of a video graph ending in label ``out``."""

    input_args: list[str]
    filters: list[str]
    out: str
    files: dict[Path, str]
    inputs: int


def layers(layout: Layout, windows: Sequence[Window]) -> Layers:
    """Split the frames of ``windows`` into the base and incoming layers.

    Window edges must fall where a single shot is on screen (never inside a transition),
    which is how :func:`assembly.render.layout.plan_smart` cuts them.
    """
    base: list[Span] = []
    incoming: list[Span] = []
    transitions: list[int] = []
    for window in windows:
        for index, segment in enumerate(layout.segments):
            if segment.head:
                start, end = segment.out_start, segment.out_start + segment.head
                inside = window.out_start <= start and end <= window.out_end
                if inside:
                    incoming.append(Span(index, 0, segment.head))
                    transitions.append(window.enc_start + start - window.out_start)
                elif window.out_start < end and start < window.out_end:
                    raise ValueError(
                        f"{window} cuts through the transition at frames {start}-{end}"
                    )
            lo = max(segment.out_start + segment.head, window.out_start)
            hi = min(segment.out_end, window.out_end)
            if lo < hi:
                base.append(Span(index, lo - segment.out_start, hi - segment.out_start))
    return Layers(base, incoming, transitions)


def is_sequential(sources: Sequence[SourceInfo], fps: int) -> bool:
    """Whether all clips can be read through one decoder (concat demuxer)."""
    first = sources[0].stream_copy_key()
    return all(s.cfr and s.fps == fps and s.stream_copy_key() == first for s in sources)


def build_video_graph(
    timeline: Timeline,
    layout: Layout,
    sources: Sequence[SourceInfo],
    assets: Assets,
    windows: Sequence[Window],
    workdir: Path,
    *,
    first_input: int = 0,
    out: str = "vout",
) -> VideoGraph:
    """The filtergraph that produces the frames of ``windows``, back to back."""
    builder = _Builder(timeline, layout, sources, assets, workdir, first_input)
    plan = layers(layout, windows)
    sequential = is_sequential(sources, layout.fps)
    fps = layout.fps

    base = builder.layer(plan.base, stream="A", sequential=sequential)
    builder.filters.append(f"[{base}]settb=1/{fps},setpts=N[base]")
    current = "base"
    if plan.incoming:
        incoming = builder.layer(plan.incoming, stream="B", sequential=sequential)
        current = builder.transitions(incoming, current, plan.transitions)

    for clip_index, placement in sorted(assets.captions.items()):
        segment = next(s for s in layout.clip_segments() if s.clip_index == clip_index)
        start, end = segment.solo
        if end <= start:
            continue
        first, last = _to_encoded(windows, start), _to_encoded(windows, end - 1)
        index = builder.add_input(["-i", placement.path])
        label = f"cap{clip_index}"
        builder.filters.append(
            f"[{current}][{index}:v:0]overlay=x={placement.x}:y={placement.y}"
            f":enable='between(round(t*{fps}),{first},{last})'[{label}]"
        )
        current = label

    if assets.watermark is not None:
        mark = assets.watermark
        index = builder.add_input(["-i", mark.path])
        opacity = (
            ""
            if assets.watermark_opacity >= 1
            else f",colorchannelmixer=aa={assets.watermark_opacity:g}"
        )
        builder.filters.append(f"[{index}:v:0]format=rgba{opacity}[wm]")
        builder.filters.append(f"[{current}][wm]overlay=x={mark.x}:y={mark.y}[wmk]")
        current = "wmk"

    builder.filters.append(f"[{current}]format=yuv420p[{out}]")
    return VideoGraph(
        builder.input_args, builder.filters, out, builder.files, builder.next_input - first_input
    )


def _to_encoded(windows: Sequence[Window], out_frame: int) -> int:
    """The frame of the encoded stream that shows output frame ``out_frame``."""
    for window in windows:
        if window.out_start <= out_frame < window.out_end:
            return window.enc_start + out_frame - window.out_start
    raise ValueError(f"output frame {out_frame} is not in an encoded window")


@dataclass(frozen=True, slots=True)
class _ConcatEntry:
    clip_index: int
    first: int
    end: int
    seek: int


class _Builder:
    def __init__(
        self,
        timeline: Timeline,
        layout: Layout,
        sources: Sequence[SourceInfo],
        assets: Assets,
        workdir: Path,
        first_input: int,
    ) -> None:
        self.timeline = timeline
        self.layout = layout
        self.sources = sources
        self.assets = assets
        self.workdir = workdir
        self.next_input = first_input
        self.input_args: list[str] = []
        self.filters: list[str] = []
        self.files: dict[Path, str] = {}
        self._labels = 0

    def label(self, stem: str) -> str:
        self._labels += 1
        return f"{stem}{self._labels}"

    def add_input(self, args: list[str]) -> int:
        self.input_args += args
        self.next_input += 1
        return self.next_input - 1

    @property
    def _size(self) -> tuple[int, int]:
        return self.layout.width, self.layout.height

    # -- layers --------------------------------------------------------------------------

    def layer(self, spans: list[Span], *, stream: str, sequential: bool) -> str:
        """One stream with the frames of ``spans`` in order; returns its label."""
        # Consecutive spans read from the same input form one run.
        runs: list[tuple[tuple[str, int | str | None], list[Span]]] = []
        for span in spans:
            segment = self.layout.segments[span.segment]
            key: tuple[str, int | str | None]
            if segment.kind is not SegmentKind.CLIP:
                key = ("still", span.segment)
            elif sequential:
                key = ("concat", stream)
            else:
                key = ("clip", segment.clip_index)
            if runs and runs[-1][0] == key:
                runs[-1][1].append(span)
            else:
                runs.append((key, [span]))
        parts = []
        for (kind, which), run in runs:
            if kind == "still":
                parts.append(self._still(int(which), run))
            elif kind == "concat":
                parts.append(self._concat_stream(str(which), run))
            else:
                parts.append(self._clip(int(which), run))
        if len(parts) == 1:
            return parts[0]
        label = self.label("layer")
        self.filters.append(
            "".join(f"[{p}]" for p in parts) + f"concat=n={len(parts)}:v=1:a=0[{label}]"
        )
        return label

    def _finish(self, head: str) -> str:
        label = self.label("p")
        self.filters.append(f"{head},settb=1/{self.layout.fps},setpts=N[{label}]")
        return label

    def _contiguous(self, spans: list[Span], offset: int = 0) -> tuple[int, int]:
        for a, b in itertools.pairwise(spans):
            if a.end != b.start:
                raise ValueError(f"spans {a} and {b} of one input are not contiguous")
        return spans[0].start + offset, spans[-1].end + offset

    def _still(self, segment_index: int, spans: list[Span]) -> str:
        segment = self.layout.segments[segment_index]
        fps = self.layout.fps
        if segment.kind is SegmentKind.TITLE:
            if self.assets.title_png is None:
                raise ValueError("the title card image has not been prepared")
            path = self.assets.title_png
        else:
            assert self.timeline.intro is not None
            path = self.timeline.intro.path
        first, end = self._contiguous(spans)
        index = self.add_input(
            ["-loop", "1", "-framerate", str(fps), "-t", f"{(end + 1) / fps:.6f}", "-i", path]
        )
        w, h = self._size
        return self._finish(
            f"[{index}:v:0]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},"
            f"setsar=1,format=yuv420p,trim=start_frame={first}:end_frame={end}"
        )

    def _fit(self) -> str:
        w, h = self._size
        return f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:-1:-1,setsar=1,format=yuv420p"

    def _clip(self, clip_index: int, spans: list[Span]) -> str:
        segment = next(s for s in self.layout.clip_segments() if s.clip_index == clip_index)
        first, end = self._contiguous(spans, segment.source_start)
        index = self.add_input(["-i", self.timeline.clips[clip_index].path])
        return self._finish(
            f"[{index}:v:0]fps={self.layout.fps},{self._fit()},tpad=stop=-1:stop_mode=clone,"
            f"trim=start_frame={first}:end_frame={end}"
        )

    def _concat_stream(self, stream: str, spans: list[Span]) -> str:
        """Frames of clip ``spans`` read through one concat-demuxer input."""
        fps = self.layout.fps
        entries: list[_ConcatEntry] = []
        for span in spans:
            segment = self.layout.segments[span.segment]
            clip_index = segment.clip_index
            assert clip_index is not None
            first, end = segment.source_start + span.start, segment.source_start + span.end
            previous = entries[-1] if entries else None
            if previous and previous.clip_index == clip_index and previous.end == first:
                entries[-1] = _ConcatEntry(clip_index, previous.first, end, previous.seek)
                continue
            seek = max((c for c in self.sources[clip_index].cut_points if c <= first), default=0)
            entries.append(_ConcatEntry(clip_index, first, end, seek))

        lines = ["ffconcat version 1.0"]
        keep: list[str] = []
        offset = 0.0
        for entry in entries:
            path = Path(self.timeline.clips[entry.clip_index].path).resolve()
            lines.append("file " + _concat_quote(str(path)))
            if entry.seek:
                lines.append(f"inpoint {entry.seek / fps:.6f}")
            if entry.end < self.sources[entry.clip_index].frames:
                lines.append(f"outpoint {entry.end / fps:.6f}")
            slot = round((entry.end - entry.seek) / fps + CONCAT_SLOT_GUARD, 6)
            lines.append(f"duration {slot:.6f}")
            lo = offset + (entry.first - entry.seek - 0.5) / fps
            hi = offset + (entry.end - entry.seek - 0.5) / fps
            keep.append(f"between(t,{lo:.6f},{hi:.6f})")
            offset += slot
        list_path = self.workdir / f"stream_{stream}.ffconcat"
        self.files[list_path] = "\n".join(lines) + "\n"
        index = self.add_input(["-f", "concat", "-safe", "0", "-i", str(list_path)])

        source = self.sources[entries[0].clip_index]
        normalise = (
            self._fit()
            if (source.width, source.height) != self._size
            else "setsar=1,format=yuv420p"
        )
        return self._finish(f"[{index}:v:0]select='{'+'.join(keep)}',{normalise}")

    # -- transitions ---------------------------------------------------------------------

    def transitions(self, incoming: str, base: str, starts: list[int]) -> str:
        """Lay the incoming layer over the base during each transition; returns the label.

        Expressions go by frame index, ``round(t*fps)`` (both layers are on a 1/fps time
        base with pts = frame index): ffmpeg filters disagree on whether their ``n``
        counts from 0 or 1.
        """
        fps = self.layout.fps
        t = self.layout.transition_frames
        w, _ = self._size
        kind = self.layout.transition
        frame = f"round(t*{fps})"
        chain: list[str] = []
        if kind is TransitionKind.CROSSFADE:
            chain.append("format=yuva420p")
            for k in range(len(starts)):
                chain.append(
                    f"fade=t=in:st={k * t / fps:.6f}:d={t / fps:.6f}:alpha=1"
                    f":enable='between({frame},{k * t},{k * t + t - 1})'"
                )
        elif kind is TransitionKind.FADE_THROUGH_BLACK:
            half = max(1, t // 2)
            chain.append("format=yuva420p")
            for k in range(len(starts)):
                window = f"enable='between({frame},{k * t},{k * t + t - 1})'"
                chain.append(f"fade=t=in:st={k * t / fps:.6f}:d={half / fps:.6f}:alpha=1:{window}")
                chain.append(
                    f"fade=t=in:st={(k * t + half) / fps:.6f}:d={(t - half) / fps:.6f}:{window}"
                )
        elif kind is TransitionKind.WIPE:
            # The incoming frame stays put while its revealed part grows from the right
            # edge: crop a frame-wide window out of [incoming | black] that moves with the
            # overlay position below.
            chain += [f"pad={2 * w}:ih:0:0", f"crop={w}:ih:x='{w}-{w}*mod({frame},{t})/{t}':y=0"]
        # Incoming frame i belongs to transition i div t and moves onto that transition.
        place = "+".join(f"{s}*eq(floor(N/{t}),{k})" for k, s in enumerate(starts))
        chain += [f"settb=1/{fps}", f"setpts='mod(N,{t})+{place}'"]
        layer = self.label("in")
        self.filters.append(f"[{incoming}]{','.join(chain)}[{layer}]")

        x = "0"
        if kind in (TransitionKind.SLIDE, TransitionKind.WIPE):
            progress = "+".join(f"between(ld(0),{s},{s + t - 1})*(ld(0)-{s})/{t}" for s in starts)
            x = f"'st(0,{frame});{w}-{w}*({progress})'"
        active = "+".join(f"between({frame},{s},{s + t - 1})" for s in starts)
        out = self.label("tx")
        self.filters.append(f"[{base}][{layer}]overlay=x={x}:y=0:enable='{active}'[{out}]")
        return out


def _concat_quote(path: str) -> str:
    return "'" + path.replace("'", "'\\''") + "'"
