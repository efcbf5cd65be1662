"""The free try: one watermarked clip per visitor (and a few per IP) per window, no account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.config import Settings
from api.db import models as m
from api.domain.clips import lifecycle
from api.domain.moderation.photos import PhotoModerator
from api.domain.photos.intake import IntakeLimits
from api.domain.photos.services import StoredPhoto, normalise_upload
from api.domain.tries.schemas import FreeTryClip
from api.errors import NotFound, RateLimited
from api.events import ClipStatusEvent, EventPublisher, visitor_owner
from api.jobs import Queues, enqueue_generate_clip
from api.ratelimit import describe_wait
from api.storage import MediaUrls, Storage

log = structlog.get_logger()


class FreeTryService:
    def __init__(
        self, session: AsyncSession, *, settings: Settings, storage: Storage, queues: Queues
    ) -> None:
        self.session = session
        self.settings = settings
        self.storage = storage
        self.queues = queues

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.settings.free_try_window_hours)

    async def _used(self, column: InstrumentedAttribute[Any], value: object, since: datetime) -> tuple[int, datetime | None]:
        """Free tries counted against a visitor or a network since ``since``.

        A try whose generation failed for good is not counted: the allowance comes back when
        the clip turns ``failed``, once, whatever runs the failure (it is read from the clip,
        not kept in a counter that could be given back twice).
        """
        row = (
            await self.session.execute(
                sa.select(sa.func.count(), sa.func.min(m.Clip.created_at)).where(
                    m.Clip.kind == m.ClipKind.FREE_TRY,
                    column == value,
                    m.Clip.created_at > since,
                    m.Clip.status != m.ClipStatus.FAILED,
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def check_allowance(self, *, visitor_id: uuid.UUID, ip_hash: str | None) -> None:
        """Raise :class:`RateLimited` (saying when to come back) if no free try is left."""
        now = datetime.now(UTC)
        since = now - self.window
        checks: list[tuple[InstrumentedAttribute[Any], object, int]] = [
            (m.Clip.visitor_id, visitor_id, self.settings.free_try_per_visitor)
        ]
        if ip_hash:
            checks.append((m.Clip.client_ip_hash, ip_hash, self.settings.free_try_per_ip))
        for column, value, limit in checks:
            used, oldest = await self._used(column, value, since)
            if used >= limit:
                next_at = (oldest or now) + self.window
                retry_after = max(1, int((next_at - now).total_seconds()))
                raise RateLimited(
                    "You have already made your free clip. You can make another one "
                    f"in {describe_wait(retry_after)} (after {next_at:%H:%M} UTC), "
                    "or create an account to bring more photos to life.",
                    retry_after=retry_after,
                    nextAvailableAt=next_at.isoformat(),
                )

    async def start(self, *, visitor_id: uuid.UUID, ip_hash: str | None, upload: UploadFile) -> m.Clip:
        """Take the photo in, record the clip and queue its generation.

        The allowance is checked before the upload is read (cheap refusal) and again under
        per-visitor and per-IP advisory locks in the transaction that records the clip, so
        concurrent requests cannot both use the last try. A refusal at any step leaves no
        stored file and no row behind.
        """
        await self.check_allowance(visitor_id=visitor_id, ip_hash=ip_hash)
        await self.session.rollback()
        limits = IntakeLimits(max_bytes=self.settings.upload_max_bytes)
        moderator = PhotoModerator(self.settings.media_safety)
        photo = await normalise_upload(upload, limits, moderator=moderator)
        stored = StoredPhoto(self.storage, photo)
        await stored.write()
        try:
            async with self.session.begin():
                for lock_key in (f"free_try:visitor:{visitor_id}", f"free_try:ip:{ip_hash}" if ip_hash else None):
                    if lock_key:
                        await self.session.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock_key}
                        )
                await self.check_allowance(visitor_id=visitor_id, ip_hash=ip_hash)
                photo_row = stored.model(visitor_id=visitor_id)
                self.session.add(photo_row)
                await self.session.flush()
                clip = m.Clip(
                    kind=m.ClipKind.FREE_TRY,
                    status=m.ClipStatus.DRAFT,
                    photo_id=photo_row.id,
                    visitor_id=visitor_id,
                    client_ip_hash=ip_hash,
                    aspect="16:9" if photo.width >= photo.height else "9:16",
                    watermarked=True,
                    intro_seconds=self.settings.free_try_intro_seconds,
                    seed=uuid.uuid4().int % 2**31,
                    generation=0,
                )
                lifecycle.start_generation(clip, charged_credits=0)
                self.session.add(clip)
        except BaseException:
            await stored.discard()
            raise
        await enqueue_generate_clip(self.queues, clip.id, clip.generation)
        await EventPublisher.from_queues(self.queues).publish(
            visitor_owner(visitor_id),
            ClipStatusEvent(clip_id=clip.id, project_id=None, status=m.ClipStatus.QUEUED, progress=0.0),
        )
        log.info("free_try_started", clip_id=str(clip.id), visitor_id=str(visitor_id))
        return clip

    async def get(
        self, clip_id: uuid.UUID, *, visitor_id: uuid.UUID | None, user_id: uuid.UUID | None = None
    ) -> m.Clip:
        """A claimed clip answers only its account (on any device); an unclaimed one only the
        visitor cookie of the browser that made it."""
        owners = []
        if user_id is not None:
            owners.append(m.Clip.user_id == user_id)
        if visitor_id is not None:
            owners.append(sa.and_(m.Clip.visitor_id == visitor_id, m.Clip.user_id.is_(None)))
        clip = None
        if owners:
            clip = await self.session.scalar(
                sa.select(m.Clip).where(
                    m.Clip.id == clip_id, m.Clip.kind == m.ClipKind.FREE_TRY, sa.or_(*owners)
                )
            )
        if clip is None:
            raise NotFound("We could not find that clip. Free clips are kept for 24 hours.")
        return clip


FREE_CLIP_DOWNLOAD_NAME = "echoes-free-clip.mp4"


def to_schema(clip: m.Clip, signer: MediaUrls, *, viewer_id: uuid.UUID | None = None) -> FreeTryClip:
    """``downloadUrl`` (an attachment link) only for the signed-in account that claimed the
    clip: an anonymous visitor can watch, and must sign up to download."""
    done = clip.status == m.ClipStatus.SUCCEEDED
    claimed_by_viewer = clip.user_id is not None and clip.user_id == viewer_id
    return FreeTryClip(
        id=clip.id,
        status=clip.status,
        progress=1.0 if done else clip.progress,
        provider=clip.provider,
        watermarked=clip.watermarked,
        created_at=clip.created_at,
        duration_seconds=clip.duration_seconds,
        width=clip.width,
        height=clip.height,
        video_url=signer.url(clip.video_key) if done and clip.video_key else None,
        poster_url=signer.url(clip.poster_key) if done and clip.poster_key else None,
        download_url=(
            signer.url(clip.video_key, download=FREE_CLIP_DOWNLOAD_NAME)
            if done and clip.video_key and claimed_by_viewer else None
        ),
        error=clip.error_message if clip.status == m.ClipStatus.FAILED else None,
    )
