"""What a render needs to know about each clip file, read from its packets (no decoding).

Besides size and frame count, a smart render needs the clip's *clean cut points*: frames
at which a stream copy may start or stop without dragging in a reference to a frame on the
other side. With a closed GOP that is every keyframe, and the scan checks it rather than
trusting the encoder settings.
"""

from __future__ import annotations

import hashlib
import itertools
from fractions import Fraction
from pathlib import Path

import av
import msgspec


class SourceInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A clip file as the planner sees it."""

    path: str
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    frames: int
    #: Frame rate as an exact fraction; ``cfr`` says whether every frame lasts 1/fps.
    fps_num: int
    fps_den: int
    cfr: bool
    time_base_num: int
    time_base_den: int
    #: SHA-256 of the codec extradata (SPS/PPS for H.264): streams whose digests match can
    #: be joined by stream copy under one set of headers.
    extradata_sha256: str
    #: Display-order frame indices at which a stream copy may start or end, ascending.
    #: Always includes ``frames`` (the end) when the stream can be cut at all.
    cut_points: tuple[int, ...]

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def time_base(self) -> Fraction:
        return Fraction(self.time_base_num, self.time_base_den)

    def stream_copy_key(self) -> tuple[object, ...]:
        """Equal for clips whose packets can share one output stream."""
        return (
            self.codec,
            self.width,
            self.height,
            self.pix_fmt,
            self.fps_num,
            self.fps_den,
            self.time_base_num,
            self.time_base_den,
            self.extradata_sha256,
        )


def scan_source(path: str | Path) -> SourceInfo:
    """Read a clip's video packets (no decoding) and describe it.

    Raises ``ValueError`` for a file without a video stream or with no frames, and
    ``av.error.FFmpegError`` for a file libav cannot open.
    """
    path = Path(path)
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        cc = stream.codec_context
        packets = [
            (p.pts, p.is_keyframe) for p in container.demux(stream) if p.size and p.pts is not None
        ]
        if not packets:
            raise ValueError(f"{path}: no video frames")
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        time_base = stream.time_base or Fraction(1, 90000)
        extradata = bytes(cc.extradata or b"")
        info = dict(
            codec=cc.name,
            width=cc.width,
            height=cc.height,
            pix_fmt=cc.format.name if cc.format else None,
        )

    order = sorted({pts for pts, _ in packets})
    rank = {pts: i for i, pts in enumerate(order)}
    display = [rank[pts] for pts, _ in packets]
    keyframes = [key for _, key in packets]
    tick = Fraction(1) / rate / time_base
    cfr = tick.denominator == 1 and all(b - a == tick for a, b in itertools.pairwise(order))
    return SourceInfo(
        path=str(path),
        frames=len(order),
        fps_num=rate.numerator,
        fps_den=rate.denominator,
        cfr=cfr,
        time_base_num=time_base.numerator,
        time_base_den=time_base.denominator,
        extradata_sha256=hashlib.sha256(extradata).hexdigest(),
        cut_points=clean_cut_points(display, keyframes),
        **info,
    )


def clean_cut_points(display: list[int], keyframes: list[bool]) -> tuple[int, ...]:
    """Frames at which a packet stream can be split into two independently decodable runs.

    ``display[i]`` is the display index of the i-th packet in decode order. Frame ``r`` is
    a clean cut point when a keyframe packet shows frame ``r`` and every packet before it
    in decode order shows an earlier frame while every packet from it on shows ``r`` or a
    later one (so no B-frame straddles the cut). The end of the stream is always one.
    """
    n = len(display)
    if n == 0:
        return ()
    suffix_min = [0] * n
    low = display[-1]
    for i in range(n - 1, -1, -1):
        low = min(low, display[i])
        suffix_min[i] = low
    cuts: list[int] = []
    high = -1
    for i, (frame, key) in enumerate(zip(display, keyframes, strict=True)):
        if key and high < frame and suffix_min[i] == frame:
            cuts.append(frame)
        high = max(high, frame)
    cuts.append(n)
    return tuple(cuts)
