"""Rendering a project into a video, its history, downloads and public sharing."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import UTC, datetime
from functools import partial

import msgspec
import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.db.transaction import after_commit
from api.domain.credits.announce import announce_credit_changes
from api.domain.credits.services import CreditService
from api.errors import Conflict, NotFound
from api.events import EventPublisher, RenderStatusEvent, user_owner
from api.jobs import Queues, abort_render_project, enqueue_render_project
from api.storage import MediaUrls, Storage

log = structlog.get_logger()

PUBLIC_URL_TTL = 6 * 3600


class ShareView(msgspec.Struct, rename="camel"):
    slug: str
    url: str


class RenderView(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    project_id: uuid.UUID
    status: m.RenderStatus
    progress: float
    watermarked: bool
    created_at: datetime
    title: str
    mode: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    video_url: str | None = None
    poster_url: str | None = None
    download_url: str | None = None
    error: str | None = None
    finished_at: datetime | None = None
    render_seconds: float | None = None
    share: ShareView | None = None


class RenderList(msgspec.Struct, rename="camel"):
    items: list[RenderView]


class PublicVideo(msgspec.Struct, rename="camel"):
    title: str
    poster_url: str
    video_url: str
    duration_seconds: float
    width: int
    height: int


class ShareResult(msgspec.Struct, rename="camel"):
    slug: str
    url: str
    rewarded: bool


class ClipsNotReady(Conflict):
    code = "CLIPS_NOT_READY"
    title = "Clips not ready"


def download_name(title: str) -> str:
    """A safe, readable file name from the project title: ``Grandma's garden`` -> ``Grandmas-garden.mp4``."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_title)
    stem = "-".join(words)[:80].strip("-") or "echoes-video"
    return f"{stem}.mp4"


class RenderService:
    def __init__(
        self, session: AsyncSession, *, storage: Storage, signer: MediaUrls, queues: Queues
    ) -> None:
        self.session = session
        self.storage = storage
        self.signer = signer
        self.queues = queues

    def view(self, render: m.Render) -> RenderView:
        done = render.status == m.RenderStatus.SUCCEEDED and render.video_key
        return RenderView(
            id=render.id, project_id=render.project_id, status=render.status,
            progress=1.0 if done else render.progress, watermarked=render.watermarked,
            created_at=render.created_at, title=render.title, mode=render.mode,
            duration_seconds=render.duration_seconds, width=render.width, height=render.height,
            video_url=self.signer.url(render.video_key) if done else None,
            poster_url=self.signer.url(render.poster_key) if done and render.poster_key else None,
            download_url=self.signer.url(render.video_key, download=download_name(render.title)) if done else None,
            error=render.error_message if render.status == m.RenderStatus.FAILED else None,
            finished_at=render.finished_at, render_seconds=render.render_seconds,
            share=ShareView(slug=render.share_slug, url=f"/v/{render.share_slug}") if render.share_slug else None,
        )

    async def get_owned(self, render_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False) -> m.Render:
        query = sa.select(m.Render).where(m.Render.id == render_id, m.Render.user_id == user_id)
        if lock:
            query = query.with_for_update()
        render = await self.session.scalar(query)
        if render is None:
            raise NotFound("We could not find that video.")
        return render

    async def start(self, project: m.Project, user_id: uuid.UUID) -> tuple[m.Render, bool]:
        """Queue a render; while one is queued or running, that one is returned instead."""
        active = await self._active(project.id)
        if active is not None:
            return active, False
        clips = list(
            await self.session.scalars(
                sa.select(m.Clip).where(m.Clip.project_id == project.id).order_by(m.Clip.position)
            )
        )
        if not clips:
            raise ClipsNotReady("Add photos and create their clips before making the video.")
        not_ready = [c for c in clips if c.status != m.ClipStatus.SUCCEEDED]
        if not_ready:
            raise ClipsNotReady(
                f"{len(not_ready)} of {len(clips)} clips are not ready yet. Wait for them to finish, "
                "or remove the ones that failed, then make the video.",
                notReady=len(not_ready),
            )
        render = m.Render(
            project_id=project.id, user_id=user_id, status=m.RenderStatus.QUEUED, progress=0.0,
            watermarked=any(c.watermarked for c in clips), title=project.title,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(render)
                await self.session.flush()
        except IntegrityError:
            active = await self._active(project.id)
            if active is None:
                raise
            return active, False

        async def enqueue_and_announce() -> None:
            await enqueue_render_project(self.queues, render.id)
            await self._announce(render)

        after_commit(self.session, enqueue_and_announce)
        log.info("render_queued", render_id=str(render.id), project_id=str(project.id), clips=len(clips))
        return render, True

    async def _active(self, project_id: uuid.UUID) -> m.Render | None:
        return await self.session.scalar(
            sa.select(m.Render).where(
                m.Render.project_id == project_id, m.Render.status.in_(m.ACTIVE_RENDER_STATUSES)
            )
        )

    async def history(self, project_id: uuid.UUID) -> list[m.Render]:
        rows = await self.session.scalars(
            sa.select(m.Render).where(m.Render.project_id == project_id).order_by(m.Render.created_at.desc())
        )
        return list(rows)

    async def cancel(self, render: m.Render) -> m.Render:
        if render.status not in m.ACTIVE_RENDER_STATUSES:
            raise Conflict("This video is not being made any more.")
        render.status = m.RenderStatus.CANCELLED
        render.finished_at = datetime.now(UTC)
        await self.session.flush()

        async def abort_and_announce() -> None:
            await abort_render_project(self.queues, render.id, "cancelled by the user")
            await self._announce(render)

        after_commit(self.session, abort_and_announce)
        return render

    async def _announce(self, render: m.Render) -> None:
        await EventPublisher.from_queues(self.queues).publish(
            user_owner(render.user_id),
            RenderStatusEvent(
                render_id=render.id, project_id=render.project_id, status=render.status, progress=render.progress
            ),
        )

    async def share(self, render_id: uuid.UUID, user_id: uuid.UUID) -> ShareResult:
        """Publish the video at an unguessable slug; sharing a project paid for with credits
        earns one credit, once per project (see :meth:`CreditService.grant_share_reward`)."""
        render = await self.get_owned(render_id, user_id, lock=True)
        if render.status != m.RenderStatus.SUCCEEDED:
            raise Conflict("Only a finished video can be shared.")
        if not render.share_slug:
            render.share_slug = secrets.token_urlsafe(12)
            render.shared_at = datetime.now(UTC)
        rewarded = await CreditService(self.session).grant_share_reward(user_id, render.project_id)
        await self.session.flush()
        after_commit(self.session, partial(announce_credit_changes, self.session, self.queues))
        return ShareResult(slug=render.share_slug, url=f"/v/{render.share_slug}", rewarded=rewarded)

    async def unshare(self, render_id: uuid.UUID, user_id: uuid.UUID) -> None:
        render = await self.get_owned(render_id, user_id, lock=True)
        render.share_slug = None
        await self.session.flush()

    async def public(self, slug: str) -> PublicVideo:
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,32}", slug):
            raise NotFound("This video is not shared (any more).")
        render = await self.session.scalar(
            sa.select(m.Render).where(m.Render.share_slug == slug, m.Render.status == m.RenderStatus.SUCCEEDED)
        )
        if render is None or not render.video_key or not render.poster_key:
            raise NotFound("This video is not shared (any more).")
        return PublicVideo(
            title=render.title,
            poster_url=self.signer.url(render.poster_key, ttl=PUBLIC_URL_TTL),
            video_url=self.signer.url(render.video_key, ttl=PUBLIC_URL_TTL),
            duration_seconds=render.duration_seconds or 0.0,
            width=render.width or 0,
            height=render.height or 0,
        )

