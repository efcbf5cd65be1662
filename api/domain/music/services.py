"""Music: the built-in library (generated at setup) and each user's own uploaded tracks.

Uploads are validated by probing their content (never by name), refused whole when they
fail, and transcoded to AAC with every tag stripped, so renders see one predictable format
and no personal metadata is kept.
"""

from __future__ import annotations

import asyncio
import fcntl
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import av
import msgspec
import sqlalchemy as sa
import structlog
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.photos.intake import read_limited
from api.errors import InvalidInput, NotFound, UnsupportedMedia, UploadTooLarge
from api.storage import MediaSigner, Storage, new_key
from assembly.ffmpeg import ffmpeg_cmd
from assembly.musicgen.library import GENERATOR_VERSION, TrackMeta, build_library
from assembly.process import FFmpegError, run_ffmpeg

log = structlog.get_logger()

MAX_TRACK_BYTES = 20 * 1024 * 1024
MAX_TRACK_SECONDS = 10 * 60
MIN_TRACK_SECONDS = 3
#: libav container names we take, and the audio codecs each may carry.
ACCEPTED = {
    "mp3": {"mp3", "mp3float"},
    "mov,mp4,m4a,3gp,3g2,mj2": {"aac", "mp3", "mp3float", "alac"},
    "aac": {"aac"},
    "wav": {"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_s16be"},
    "ogg": {"vorbis", "opus", "flac"},
}
FORMATS_TEXT = "MP3, M4A/AAC, WAV or OGG"


class TrackView(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    builtin: bool
    duration_seconds: float
    url: str
    preview_url: str
    mood: str | None = None
    bpm: float | None = None
    description: str | None = None


class TrackList(msgspec.Struct, rename="camel"):
    tracks: list[TrackView]


class AudioProbe(msgspec.Struct, frozen=True):
    container: str
    codec: str
    duration: float


def probe_audio(path: Path) -> AudioProbe:
    """What the file really is; raises UnsupportedMedia / InvalidInput with a clear sentence."""
    try:
        with av.open(str(path)) as container:
            audio = [s for s in container.streams.audio]
            if not audio:
                raise UnsupportedMedia(f"This file has no sound we can use. Please upload {FORMATS_TEXT} music.")
            fmt = container.format.name
            codec = audio[0].codec_context.name
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            if not duration and audio[0].duration and audio[0].time_base:
                duration = float(audio[0].duration * audio[0].time_base)
            for _ in container.decode(audio=0):
                break
    except (av.error.FFmpegError, UnicodeDecodeError, IndexError):
        raise UnsupportedMedia(
            f"This file isn't music we can read, whatever its name says. Please upload {FORMATS_TEXT}."
        ) from None
    if fmt not in ACCEPTED or codec not in ACCEPTED[fmt]:
        raise UnsupportedMedia(f"That audio format isn't supported. Please upload {FORMATS_TEXT}.")
    if duration > MAX_TRACK_SECONDS:
        raise InvalidInput(
            f"This track is {duration / 60:.0f} minutes long; Echoes takes music up to 10 minutes."
        )
    if duration < MIN_TRACK_SECONDS:
        raise InvalidInput("This track is too short to set a video to; please choose a longer one.")
    return AudioProbe(container=fmt, codec=codec, duration=duration)


def _title_from_filename(filename: str | None) -> str:
    stem = Path(filename or "").stem
    stem = re.sub(r"[_\-]+", " ", stem)
    stem = " ".join(stem.split())[:120]
    return stem or "My track"


class MusicService:
    def __init__(self, session: AsyncSession, *, storage: Storage, signer: MediaSigner) -> None:
        self.session = session
        self.storage = storage
        self.signer = signer

    def view(self, track: m.MusicTrack) -> TrackView:
        url = self.signer.url(track.storage_key)
        return TrackView(
            id=track.id, title=track.title, builtin=track.source == m.TrackSource.BUILTIN,
            duration_seconds=track.duration_seconds, url=url,
            preview_url=self.signer.url(track.preview_key) if track.preview_key else url,
            mood=track.mood, bpm=track.bpm, description=track.description,
        )

    async def list(self, user_id: uuid.UUID) -> list[m.MusicTrack]:
        rows = await self.session.scalars(
            sa.select(m.MusicTrack)
            .where(sa.or_(m.MusicTrack.user_id.is_(None), m.MusicTrack.user_id == user_id))
            .order_by(m.MusicTrack.source, m.MusicTrack.bpm.nulls_last(), m.MusicTrack.created_at)
        )
        return list(rows)

    async def get_usable(self, track_id: uuid.UUID, user_id: uuid.UUID) -> m.MusicTrack:
        """A built-in track or one of the user's own; anything else answers 404."""
        track = await self.session.scalar(
            sa.select(m.MusicTrack).where(
                m.MusicTrack.id == track_id,
                sa.or_(m.MusicTrack.user_id.is_(None), m.MusicTrack.user_id == user_id),
            )
        )
        if track is None:
            raise NotFound("We could not find that music track.")
        return track

    async def add_upload(self, user_id: uuid.UUID, upload: UploadFile, title: str | None) -> m.MusicTrack:
        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await upload.read(256 * 1024):
                yield chunk

        try:
            data = await read_limited(chunks(), MAX_TRACK_BYTES)
        except UploadTooLarge:
            raise UploadTooLarge("This track is larger than 20 MB. Please choose a smaller file.") from None
        with tempfile.TemporaryDirectory(prefix="echoes-music-") as tmp:
            source = Path(tmp) / "upload"
            source.write_bytes(data)
            probe = await anyio.to_thread.run_sync(probe_audio, source)
            normalised = Path(tmp) / "track.m4a"
            try:
                await run_ffmpeg(ffmpeg_cmd(
                    "-i", str(source), "-map", "0:a:0", "-vn", "-map_metadata", "-1",
                    "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
                    "-movflags", "+faststart", str(normalised),
                ))
            except FFmpegError:
                raise InvalidInput(
                    "This track could not be read to the end: the file may be damaged. Please export it again."
                ) from None
            key = new_key("music", "track.m4a")
            self.storage.put_file(key, normalised)
            size = normalised.stat().st_size
        track = m.MusicTrack(
            user_id=user_id, source=m.TrackSource.UPLOAD, title=(title or "").strip()[:120] or _title_from_filename(upload.filename),
            duration_seconds=probe.duration, storage_key=key, size_bytes=size,
        )
        self.session.add(track)
        try:
            await self.session.flush()
        except BaseException:
            self.storage.delete(key)
            raise
        return track

    async def delete(self, user_id: uuid.UUID, track_id: uuid.UUID) -> None:
        track = await self.session.scalar(
            sa.select(m.MusicTrack).where(m.MusicTrack.id == track_id, m.MusicTrack.user_id == user_id)
        )
        if track is None:
            raise NotFound("We could not find that track among your music.")
        key = track.storage_key
        await self.session.delete(track)
        await self.session.commit()
        self.storage.delete(key)


def build_library_once(music_dir: Path) -> list[TrackMeta]:
    """Build the library under an exclusive lock, so processes sharing a directory (several
    test workers, two stacks) build it once and never read a half-written one."""
    music_dir.mkdir(parents=True, exist_ok=True)
    with open(music_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return build_library(music_dir)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def builtin_key(meta: TrackMeta, file: str) -> str:
    return f"music/builtin-v{GENERATOR_VERSION}-{meta.slug}/{Path(file).name}"


async def seed_builtin_library(session: AsyncSession, storage: Storage, music_dir: Path) -> int:
    """Generate the library (if needed), store its files and upsert one row per track."""
    metas = await asyncio.to_thread(build_library_once, music_dir)
    for meta in metas:
        track_key = builtin_key(meta, meta.file)
        preview_key = builtin_key(meta, meta.preview_file)
        if not storage.exists(track_key):
            storage.put_file(track_key, music_dir / meta.file)
        if not storage.exists(preview_key):
            storage.put_file(preview_key, music_dir / meta.preview_file)
        values = {
            "source": m.TrackSource.BUILTIN, "user_id": None, "title": meta.title, "mood": meta.mood,
            "bpm": meta.bpm, "description": meta.description, "duration_seconds": meta.duration_seconds,
            "storage_key": track_key, "preview_key": preview_key,
            "size_bytes": (music_dir / meta.file).stat().st_size,
        }
        existing = await session.scalar(sa.select(m.MusicTrack).where(m.MusicTrack.slug == meta.slug))
        if existing is None:
            session.add(m.MusicTrack(slug=meta.slug, **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    await session.commit()
    log.info("music_library_seeded", tracks=len(metas))
    return len(metas)
