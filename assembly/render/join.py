"""The last step of a smart render: splice copied clip bodies and encoded windows into one
MP4 with the music, without decoding a single frame.

Packets are copied with PyAV and given new timestamps from the plan, frame by frame, so
the joins are exact by construction: every output frame's time is its position in the
plan. Before anything is written, the inputs are checked against what stream copy needs —
the same codec headers everywhere and every cut on a clean cut point — and a
:class:`SmartRenderError` says why when they are not, so the caller can render in full
instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av

from assembly.render.layout import SmartPlan, Window
from assembly.render.media import SourceInfo, scan_source


class SmartRenderError(RuntimeError):
    """The inputs cannot be joined by stream copy (the render must re-encode instead)."""


class JoinCancelled(Exception):
    """The join was stopped through its cancel event."""


def check_joinable(
    plan: SmartPlan, sources: Sequence[SourceInfo], windows: SourceInfo | None
) -> None:
    """Raise :class:`SmartRenderError` unless the plan's pieces can share one stream."""
    keys = {sources[b.clip_index].stream_copy_key() for b in plan.bodies}
    if windows is not None:
        keys.add(windows.stream_copy_key())
    if len(keys) > 1:
        raise SmartRenderError(
            "clip bodies and encoded windows differ in codec parameters (size, rate, time "
            "base or SPS/PPS headers), so they cannot share one stream"
        )
    for body in plan.bodies:
        cuts = sources[body.clip_index].cut_points
        if body.source_start not in cuts or body.source_end not in cuts:
            raise SmartRenderError(
                f"clip {body.clip_index + 1} cannot be cut at frames {body.source_start}/{body.source_end}"
            )
    if windows is not None:
        for window in plan.windows:
            if window.enc_start not in windows.cut_points:
                raise SmartRenderError(
                    f"the encoded windows do not start a clean GOP at frame {window.enc_start}"
                )
        if windows.frames != plan.encoded_frames:
            raise SmartRenderError(
                f"expected {plan.encoded_frames} encoded frames, got {windows.frames}"
            )


def join(
    plan: SmartPlan,
    sources: Sequence[SourceInfo],
    windows_path: Path | None,
    audio_path: Path,
    output: Path,
    *,
    fps: int,
    cancel: threading.Event | None = None,
) -> None:
    """Write ``output``: the plan's parts in order, then the audio, as MP4 with +faststart.

    Blocking (run it in a thread); checks ``cancel`` between packets.
    """
    windows_info = scan_source(windows_path) if windows_path is not None else None
    check_joinable(plan, sources, windows_info)
    reference = windows_info if windows_info is not None else sources[plan.bodies[0].clip_index]
    time_base = reference.time_base
    tick = Fraction(1, fps) / time_base
    if tick.denominator != 1:
        raise SmartRenderError(f"time base {time_base} cannot express {fps} fps exactly")
    frame_ticks = int(tick)

    with contextlib.ExitStack() as stack:
        audio_in = stack.enter_context(av.open(str(audio_path)))
        out = stack.enter_context(
            av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"})
        )
        template_path = windows_path if windows_path is not None else Path(reference.path)
        with av.open(str(template_path)) as template:
            video_out = out.add_stream_from_template(template.streams.video[0])
        video_out.time_base = time_base
        audio_stream = audio_in.streams.audio[0]
        audio_out = out.add_stream_from_template(audio_stream)
        audio_out.time_base = audio_stream.time_base
        audio = _Interleaver(out, audio_out, _packets(audio_in, audio_stream))

        window_reader = None
        if windows_path is not None:
            assert windows_info is not None
            windows_in = stack.enter_context(av.open(str(windows_path)))
            window_reader = _FrameReader(windows_in, windows_info)

        last_dts: int | None = None
        for part in plan.parts:
            if isinstance(part, Window):
                assert window_reader is not None
                reader, first, end = window_reader, part.enc_start, part.enc_start + part.length
                clip_in = None
            else:
                source = sources[part.clip_index]
                clip_in = av.open(source.path)
                reader, first, end = (
                    _FrameReader(clip_in, source),
                    part.source_start,
                    part.source_end,
                )
            try:
                for packet, frame in reader.take(first, end):
                    if cancel is not None and cancel.is_set():
                        raise JoinCancelled
                    offset = (part.out_start - first) * frame_ticks - reader.origin
                    pts, dts = packet.pts + offset, packet.dts + offset
                    if last_dts is not None and dts <= last_dts:
                        raise SmartRenderError(
                            f"timestamps would go backwards at output frame {part.out_start + frame - first}"
                        )
                    last_dts = dts
                    audio.mux_until(float(dts * time_base))
                    packet.pts, packet.dts, packet.time_base = pts, dts, time_base
                    packet.stream = video_out
                    out.mux(packet)
            finally:
                if clip_in is not None:
                    clip_in.close()
        audio.mux_until(float("inf"))


def _packets(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> Iterator[av.Packet]:
    for packet in container.demux(stream):
        if packet.size and packet.dts is not None:
            yield packet


class _Interleaver:
    """Feeds audio packets into the output just ahead of the video that plays with them,
    so the muxer's interleaving queue stays short."""

    def __init__(
        self,
        out: av.container.OutputContainer,
        stream: av.stream.Stream,
        packets: Iterator[av.Packet],
    ) -> None:
        self._out, self._stream, self._packets = out, stream, packets
        self._pending = next(packets, None)

    def mux_until(self, seconds: float) -> None:
        while (
            self._pending is not None
            and float(self._pending.dts * self._pending.time_base) <= seconds
        ):
            self._pending.stream = self._stream
            self._out.mux(self._pending)
            self._pending = next(self._packets, None)


class _FrameReader:
    """Reads a CFR video stream's packets in decode order, by display frame index."""

    def __init__(self, container: av.container.InputContainer, info: SourceInfo) -> None:
        stream = container.streams.video[0]
        self.info = info
        self.frame_ticks = int(Fraction(1) / info.fps / info.time_base)
        self.origin = stream.start_time or 0
        self._packets = _packets(container, stream)

    def take(self, first: int, end: int) -> Iterator[tuple[av.Packet, int]]:
        """The packets that show frames ``[first, end)``, which must be clean cut points.

        Packets showing earlier frames are skipped; exactly ``end - first`` packets are
        consumed after them, so the next call can continue from ``end``.
        """
        wanted = end - first
        for packet in self._packets:
            offset = packet.pts - self.origin
            frame, remainder = divmod(offset, self.frame_ticks)
            if remainder:
                raise SmartRenderError(
                    f"{self.info.path}: packet at {offset} ticks is off the frame grid"
                )
            if frame < first and wanted == end - first:
                continue
            if not first <= frame < end:
                raise SmartRenderError(
                    f"{self.info.path}: frame {frame} crosses the cut [{first}, {end})"
                )
            yield packet, frame
            wanted -= 1
            if wanted == 0:
                return
        raise SmartRenderError(f"{self.info.path}: ran out of packets before frame {end}")
