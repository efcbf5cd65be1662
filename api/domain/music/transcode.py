"""Reading an uploaded track safely, and turning it into the one stored format.

Both steps treat the file as hostile: its container is sniffed from its magic bytes (never
its name) and libav opens it as that demuxer only, from the local file only
(:mod:`assembly.probe`). The transcode runs in the ``transcode_music`` job under a time
limit, an output-size limit and a per-process concurrency limit (``MediaSafety``).
"""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import av
import msgspec

from api.config import MediaSafety
from api.errors import InvalidInput, UnsupportedMedia
from assembly.ffmpeg import ffmpeg_cmd
from assembly.probe import (
    AUDIO_CONTAINERS,
    UNTRUSTED_OPEN_OPTIONS,
    sniff_container,
    untrusted_input_args,
)
from assembly.process import FFmpegError, run_ffmpeg

MAX_TRACK_BYTES = 20 * 1024 * 1024
MAX_TRACK_SECONDS = 10 * 60
MIN_TRACK_SECONDS = 3
#: The demuxers we open uploads with (see :func:`sniff_audio`), and the audio codecs each may carry.
ACCEPTED = {
    "mp3": {"mp3", "mp3float"},
    "mov": {"aac", "mp3", "mp3float", "alac"},
    "aac": {"aac"},
    "wav": {"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_s16be"},
    "ogg": {"vorbis", "opus", "flac"},
}
FORMATS_TEXT = "MP3, M4A/AAC, WAV or OGG"
NOT_MUSIC = f"This file isn't music we can read, whatever its name says. Please upload {FORMATS_TEXT}."


class AudioProbe(msgspec.Struct, frozen=True):
    container: str
    codec: str
    duration: float


class TranscodeFailed(Exception):
    """The track cannot be used; ``str(exc)`` is the sentence for the person."""


def sniff_audio(head: bytes) -> str:
    """The demuxer for an upload's first bytes; 415 for anything that is not one of ours."""
    container = sniff_container(head)
    if container not in AUDIO_CONTAINERS:
        raise UnsupportedMedia(NOT_MUSIC)
    return container


def probe_audio(path: Path, container: str) -> AudioProbe:
    """What the file really is, opened as ``container`` only; raises UnsupportedMedia /
    InvalidInput with a clear sentence. Reads the headers and decodes one frame."""
    try:
        with av.open(str(path), format=container, options=UNTRUSTED_OPEN_OPTIONS) as opened:
            audio = list(opened.streams.audio)
            if not audio:
                raise UnsupportedMedia(f"This file has no sound we can use. Please upload {FORMATS_TEXT} music.")
            fmt = opened.format.name
            codec = audio[0].codec_context.name
            duration = float(opened.duration / av.time_base) if opened.duration else 0.0
            if not duration and audio[0].duration and audio[0].time_base:
                duration = float(audio[0].duration * audio[0].time_base)
            for _ in opened.decode(audio=0):
                break
    except (av.error.FFmpegError, UnicodeDecodeError, IndexError):
        raise UnsupportedMedia(NOT_MUSIC) from None
    if fmt not in ACCEPTED or codec not in ACCEPTED[fmt]:
        raise UnsupportedMedia(f"That audio format isn't supported. Please upload {FORMATS_TEXT}.")
    if duration > MAX_TRACK_SECONDS:
        raise InvalidInput(
            f"This track is {duration / 60:.0f} minutes long; Echoes takes music up to 10 minutes."
        )
    if duration < MIN_TRACK_SECONDS:
        raise InvalidInput("This track is too short to set a video to; please choose a longer one.")
    return AudioProbe(container=fmt, codec=codec, duration=duration)


def transcode_argv(source: Path, container: str, out: Path, *, max_output_bytes: int) -> list[str]:
    """AAC 192 kb/s stereo 48 kHz in MP4, every tag stripped, at most 10 minutes and
    ``max_output_bytes`` (ffmpeg stops writing there)."""
    return ffmpeg_cmd(
        *untrusted_input_args(source, container),
        "-map", "0:a:0", "-vn", "-map_metadata", "-1", "-t", str(MAX_TRACK_SECONDS),
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-fs", str(max_output_bytes), "-movflags", "+faststart", str(out),
    )


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(16)


class Transcoder:
    """Transcodes uploads with the limits of ``MediaSafety``; one per worker process, so
    its concurrency limit holds across the jobs that process runs."""

    def __init__(self, safety: MediaSafety) -> None:
        self.safety = safety
        self._slots = anyio.CapacityLimiter(safety.music_transcode_concurrency)

    async def transcode(self, source: Path, out: Path) -> AudioProbe:
        """Probe ``source`` again (the job trusts nothing the request saw) and write the
        stored track to ``out``; :class:`TranscodeFailed` with a sentence when it can't."""
        try:
            container = sniff_audio(await anyio.to_thread.run_sync(_head, source))
            probe = await anyio.to_thread.run_sync(probe_audio, source, container)
        except (UnsupportedMedia, InvalidInput) as exc:
            raise TranscodeFailed(exc.detail) from None
        argv = transcode_argv(source, container, out, max_output_bytes=self.safety.music_max_output_bytes)
        async with self._slots:
            try:
                with anyio.fail_after(self.safety.music_transcode_timeout_seconds):
                    await run_ffmpeg(argv)
            except TimeoutError:
                raise TranscodeFailed(
                    "This track took too long to prepare. Please export it again (MP3 or M4A) and upload it."
                ) from None
            except FFmpegError:
                raise TranscodeFailed(
                    "This track could not be read to the end: the file may be damaged. Please export it again."
                ) from None
        if not out.is_file() or out.stat().st_size >= self.safety.music_max_output_bytes:
            raise TranscodeFailed("This track is too large to use once prepared; please choose a shorter one.")
        return probe
