"""Media probing through PyAV (libav* in-process), so no ``ffprobe`` binary is needed.

Untrusted media (a person's upload, a provider's output) is never opened with libav's
format guessing: a file named ``.mp3`` may really be an HLS playlist or an ffconcat script
that makes the demuxer open other URLs (``http://`` inside our network, ``file:///etc/…``).
Such a file is sniffed first (:func:`sniff_container`: the magic bytes of the few formats
we take) and then opened with that demuxer named explicitly and with
``protocol_whitelist=file`` (:func:`untrusted_input_args` for ffmpeg, ``format=`` and
:data:`UNTRUSTED_OPEN_OPTIONS` for PyAV), so nothing but the one local file is read.
"""

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


#: libav's options for opening untrusted media: the local file and nothing else.
UNTRUSTED_OPEN_OPTIONS: dict[str, str] = {"protocol_whitelist": "file"}
#: Demuxers :func:`sniff_container` may name.
AUDIO_CONTAINERS = frozenset({"mp3", "mov", "aac", "wav", "ogg"})
VIDEO_CONTAINERS = frozenset({"mov", "matroska"})


def sniff_container(head: bytes) -> str | None:
    """The libav demuxer for the first bytes of a file, among the formats we accept
    (MP3, MP4/M4A/MOV, ADTS AAC, WAV, Ogg, Matroska/WebM); ``None`` for anything else —
    playlists, concat scripts and text of any kind included."""
    if head[4:8] == b"ftyp":
        return "mov"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0b11
        if layer == 0b00 and head[1] & 0xF0 == 0xF0:
            return "aac"  # ADTS: 12 sync bits, layer 0
        if layer != 0b00:
            return "mp3"  # MPEG audio frame sync (layer III, or II/I which libav's mp3 demuxer reads)
    return None


def sniff_file(path: str | Path) -> str | None:
    """:func:`sniff_container` of the file at ``path``."""
    with open(path, "rb") as fh:
        return sniff_container(fh.read(16))


def untrusted_input_args(path: str | Path, container: str) -> list[str]:
    """ffmpeg arguments that open ``path`` as ``container`` and nothing else: no format
    guessing, no protocol but ``file`` (no playlists, concat scripts or network)."""
    return ["-f", container, "-protocol_whitelist", "file", "-i", str(path)]


def _stream_duration(stream: av.stream.Stream, fallback: float) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return fallback


def probe(path: str | Path, *, count_frames: bool = True, container_format: str | None = None) -> MediaInfo:
    """Describe a media file: container, duration and its first video and audio stream.

    ``count_frames`` demuxes the video packets (no decoding) for an exact frame count.
    ``container_format`` names the demuxer (see :func:`sniff_container`); pass it for any
    file we did not write ourselves. Only the ``file`` protocol is ever allowed.
    Raises ``av.error.FFmpegError`` (an ``OSError``/``ValueError`` subclass) for files
    libav cannot open.
    """
    path = Path(path)
    with av.open(str(path), format=container_format, options=UNTRUSTED_OPEN_OPTIONS) as container:
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
