"""Media probing through PyAV (libav* in-process), so no ``ffprobe`` binary is needed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import msgspec


class VideoStreamInfo(msgspec.Struct, frozen=True, kw_only=True):
    codec: str
    width: int
    height: int
    fps: float
    pix_fmt: str | None
    profile: str | None
    frames: int
    duration: float


class AudioStreamInfo(msgspec.Struct, frozen=True, kw_only=True):
    codec: str
    sample_rate: int
    channels: int
    duration: float


class MediaInfo(msgspec.Struct, frozen=True, kw_only=True):
    format_name: str
    duration: float
    size_bytes: int
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None
    video_streams: int
    audio_streams: int


def _stream_duration(stream: av.stream.Stream, fallback: float) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return fallback


def probe(path: str | Path, *, count_frames: bool = True) -> MediaInfo:
    """Describe a media file: container, duration and its first video and audio stream.

    ``count_frames`` demuxes the video packets (no decoding) for an exact frame count.
    Raises ``av.error.FFmpegError`` (an ``OSError``/``ValueError`` subclass) for files
    libav cannot open.
    """
    path = Path(path)
    with av.open(str(path)) as container:
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        vstreams = list(container.streams.video)
        astreams = list(container.streams.audio)
        video = None
        if vstreams:
            vs = vstreams[0]
            rate = vs.average_rate or vs.guessed_rate or Fraction(0)
            frames = vs.frames
            if count_frames:
                frames = sum(1 for p in container.demux(vs) if p.size)
            cc = vs.codec_context
            video = VideoStreamInfo(
                codec=cc.name,
                width=cc.width,
                height=cc.height,
                fps=float(rate),
                pix_fmt=cc.format.name if cc.format else None,
                profile=cc.profile,
                frames=frames,
                duration=_stream_duration(vs, duration),
            )
        audio = None
        if astreams:
            st = astreams[0]
            cc = st.codec_context
            audio = AudioStreamInfo(
                codec=cc.name,
                sample_rate=cc.sample_rate,
                channels=cc.channels if hasattr(cc, "channels") else cc.layout.nb_channels,
                duration=_stream_duration(st, duration),
            )
        return MediaInfo(
            format_name=container.format.name,
            duration=duration,
            size_bytes=path.stat().st_size,
            video=video,
            audio=audio,
            video_streams=len(vstreams),
            audio_streams=len(astreams),
        )
