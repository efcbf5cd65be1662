"""Music: the built-in library (generated at setup) and each user's own uploaded tracks.

Uploads are checked in the request by sniffing and probing their content (never the
name), stored raw and recorded as ``processing``; the ``transcode_music`` job
(``worker/jobs/music.py``) makes the stored AAC file with every tag stripped, so renders
see one predictable format and no personal metadata is kept. Only ``ready`` tracks can be
set to a video. Services here never commit: the controller (or job step) does.
"""

from __future__ import annotations

import asyncio
import fcntl
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import msgspec
import sqlalchemy as sa
import structlog
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.music.transcode import MAX_TRACK_BYTES, probe_audio, sniff_audio
from api.domain.photos.intake import read_limited
from api.errors import InvalidInput, NotFound, UploadTooLarge
from api.storage import MediaUrls, Storage, new_key
from assembly.musicgen.library import GENERATOR_VERSION, TrackMeta, build_library

log = structlog.get_logger()

class TrackView(msgspec.Struct, rename="camel"):
    """``url``/``previewUrl`` are null until an upload is ``ready``; ``failure`` says why a
    ``failed`` one can't be used."""

    id: uuid.UUID
    title: str
    builtin: bool
    duration_seconds: float
    status: m.TrackStatus
    url: str | None
    preview_url: str | None
    mood: str | None = None
    bpm: float | None = None
    description: str | None = None
    failure: str | None = None


class TrackList(msgspec.Struct, rename="camel"):
    tracks: list[TrackView]


def _title_from_filename(filename: str | None) -> str:
    stem = Path(filename or "").stem
    stem = re.sub(r"[_\-]+", " ", stem)
    stem = " ".join(stem.split())[:120]
    return stem or "My track"


class MusicService:
    def __init__(self, session: AsyncSession, *, storage: Storage, signer: MediaUrls) -> None:
        self.session = session
        self.storage = storage
        self.signer = signer

    def view(self, track: m.MusicTrack) -> TrackView:
        ready = track.status == m.TrackStatus.READY
        url = self.signer.url(track.storage_key) if ready else None
        return TrackView(
            id=track.id, title=track.title, builtin=track.source == m.TrackSource.BUILTIN,
            duration_seconds=track.duration_seconds, status=track.status, url=url,
            preview_url=self.signer.url(track.preview_key) if ready and track.preview_key else url,
            mood=track.mood, bpm=track.bpm, description=track.description, failure=track.failure,
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
        if track.status == m.TrackStatus.PROCESSING:
            raise InvalidInput("This track is still being prepared; try again in a moment.", field="musicTrackId")
        if track.status == m.TrackStatus.FAILED:
            raise InvalidInput(f"This track can't be used: {track.failure}", field="musicTrackId")
        return track

    async def add_upload(self, user_id: uuid.UUID, upload: UploadFile, title: str | None) -> m.MusicTrack:
        """Check the upload (size, sniffed container, a probe of its headers and first frame),
        store it raw and record it as ``processing``. The caller commits, then queues
        :func:`api.jobs.enqueue_transcode_music`. A refused file leaves nothing stored."""

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await upload.read(256 * 1024):
                yield chunk

        try:
            data = await read_limited(chunks(), MAX_TRACK_BYTES)
        except UploadTooLarge:
            raise UploadTooLarge("This track is larger than 20 MB. Please choose a smaller file.") from None
        container = sniff_audio(data[:16])
        with tempfile.TemporaryDirectory(prefix="echoes-music-") as tmp:
            source = Path(tmp) / "upload"
            await anyio.Path(source).write_bytes(data)
            probe = await anyio.to_thread.run_sync(probe_audio, source, container)
        source_key = new_key("music-uploads", "upload.bin")
        await self.storage.put_bytes(source_key, data, content_type="application/octet-stream")
        track = m.MusicTrack(
            user_id=user_id, source=m.TrackSource.UPLOAD,
            title=(title or "").strip()[:120] or _title_from_filename(upload.filename),
            duration_seconds=probe.duration, storage_key=new_key("music", "track.m4a"),
            source_key=source_key, size_bytes=len(data), status=m.TrackStatus.PROCESSING,
        )
        self.session.add(track)
        try:
            await self.session.flush()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.storage.delete(source_key)
            raise
        log.info("music_upload_stored", track_id=str(track.id), user_id=str(user_id), container=container)
        return track

    async def delete(self, user_id: uuid.UUID, track_id: uuid.UUID) -> list[str]:
        """Delete the row; returns the storage keys for the caller to delete after its commit."""
        track = await self.session.scalar(
            sa.select(m.MusicTrack).where(m.MusicTrack.id == track_id, m.MusicTrack.user_id == user_id)
        )
        if track is None:
            raise NotFound("We could not find that track among your music.")
        keys = [k for k in (track.storage_key, track.source_key) if k]
        await self.session.delete(track)
        await self.session.flush()
        return keys

    async def delete_files(self, keys: list[str]) -> None:
        await self.storage.delete_many(keys)


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
        if not await storage.exists(track_key):
            await storage.put_file(track_key, music_dir / meta.file)
        if not await storage.exists(preview_key):
            await storage.put_file(preview_key, music_dir / meta.preview_file)
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
