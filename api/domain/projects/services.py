"""Projects: photos in, clips generated in batches (credits reserved all or nothing), edited.

Every query is scoped to the owner here: another user's project or clip answers 404, the
same as one that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa
import structlog
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db import models as m
from api.db.transaction import after_commit
from api.domain.clips import lifecycle
from api.domain.credits.announce import announce_credit_changes
from api.domain.credits.services import CreditService
from api.domain.moderation.photos import PhotoModerator
from api.domain.photos.intake import IntakeLimits
from api.domain.photos.services import StoredPhoto, normalise_upload
from api.domain.projects.moderation import clean_prompt
from api.domain.projects.schemas import (
    ClipView,
    PhotoView,
    ProjectCreate,
    ProjectMusic,
    ProjectStyle,
    ProjectSummary,
    ProjectView,
    Transition,
    UploadError,
    UploadOutcome,
    UploadResult,
)
from api.errors import Conflict, EchoesError, InvalidInput, NotFound
from api.events import ClipStatusEvent, EventPublisher, user_owner
from api.jobs import Queues, abort_generate_clip, abort_render_project, enqueue_generate_clip
from api.storage import MediaUrls, Storage

log = structlog.get_logger()

BUSY = lifecycle.BUSY


def clip_charge_reference(clip_id: uuid.UUID, generation: int) -> str:
    return f"clip:{clip_id}:gen:{generation}"


class ProjectService:
    def __init__(
        self, session: AsyncSession, *, settings: Settings, storage: Storage, signer: MediaUrls,
        queues: Queues,
    ) -> None:
        self.session = session
        self.settings = settings
        self.storage = storage
        self.signer = signer
        self.queues = queues
        self.credits = CreditService(session)

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    async def owned_project(
        session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
    ) -> m.Project:
        query = sa.select(m.Project).where(m.Project.id == project_id, m.Project.user_id == user_id)
        if lock:
            query = query.with_for_update()
        project = await session.scalar(query)
        if project is None:
            raise NotFound("We could not find that project.")
        return project

    async def get_owned(self, project_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False) -> m.Project:
        return await self.owned_project(self.session, project_id, user_id, lock=lock)

    async def clips(self, project_id: uuid.UUID) -> list[m.Clip]:
        rows = await self.session.scalars(
            sa.select(m.Clip).where(m.Clip.project_id == project_id).order_by(m.Clip.position, m.Clip.id)
        )
        return list(rows)

    async def get_clip(self, project: m.Project, clip_id: uuid.UUID, *, lock: bool = False) -> m.Clip:
        query = sa.select(m.Clip).where(m.Clip.id == clip_id, m.Clip.project_id == project.id)
        if lock:
            query = query.with_for_update(of=m.Clip)
        clip = await self.session.scalar(query)
        if clip is None:
            raise NotFound("We could not find that clip in this project.")
        return clip

    def clip_view(self, clip: m.Clip) -> ClipView:
        done = clip.status == m.ClipStatus.SUCCEEDED
        return ClipView(
            id=clip.id,
            position=clip.position or 0,
            status=clip.status,
            progress=1.0 if done else clip.progress,
            prompt=clip.prompt,
            caption=clip.caption,
            photo=PhotoView(
                width=clip.photo.width, height=clip.photo.height,
                thumbnail_url=self.signer.url(clip.photo.thumbnail_key),
            ),
            generation=clip.generation,
            watermarked=clip.watermarked,
            provider=clip.provider,
            duration_seconds=clip.duration_seconds,
            video_url=self.signer.url(clip.video_key) if clip.video_key else None,
            poster_url=self.signer.url(clip.poster_key) if clip.poster_key else None,
            error=clip.error_message if clip.status == m.ClipStatus.FAILED else None,
        )

    async def view(self, project: m.Project) -> ProjectView:
        clips = await self.clips(project.id)
        return ProjectView(
            id=project.id,
            title=project.title,
            aspect=project.aspect,  # type: ignore[arg-type]
            created_at=project.created_at,
            updated_at=project.updated_at,
            clips=[self.clip_view(c) for c in clips],
            free_regenerations_left=max(m.FREE_REGENERATIONS - project.regenerations_used, 0),
            max_clips=m.MAX_CLIPS_PER_PROJECT,
            music=ProjectMusic(
                track_id=project.music_track_id, start_offset=project.music_start_offset,
                volume=project.music_volume, beat_sync=project.beat_sync,
            ),
            style=ProjectStyle(
                transition=Transition(kind=project.transition_kind, duration=project.transition_duration),  # type: ignore[arg-type]
                title_card=project.title_card,
                captions={c.id: c.caption for c in clips if c.caption},
            ),
        )

    async def set_music(self, project_id: uuid.UUID, user_id: uuid.UUID, music: ProjectMusic) -> m.Project:
        project = await self.get_owned(project_id, user_id, lock=True)
        if music.track_id is not None:
            track_status = await self.session.scalar(
                sa.select(m.MusicTrack.status).where(
                    m.MusicTrack.id == music.track_id,
                    sa.or_(m.MusicTrack.user_id.is_(None), m.MusicTrack.user_id == user_id),
                )
            )
            if track_status is None:
                raise NotFound("We could not find that music track.")
            if track_status != m.TrackStatus.READY:
                raise InvalidInput(
                    "This track is still being prepared (or could not be); choose it once it is ready.",
                    field="trackId",
                )
        project.music_track_id = music.track_id
        project.music_start_offset = music.start_offset
        project.music_volume = music.volume
        project.beat_sync = music.beat_sync
        await self.session.flush()
        return project

    async def set_style(self, project_id: uuid.UUID, user_id: uuid.UUID, style: ProjectStyle) -> m.Project:
        project = await self.get_owned(project_id, user_id, lock=True)
        clips = {c.id: c for c in await self.clips(project.id)}
        unknown = set(style.captions) - set(clips)
        if unknown:
            raise InvalidInput("Captions can only be set on clips of this project.", field="captions")
        project.transition_kind = style.transition.kind
        project.transition_duration = 0.0 if style.transition.kind == "cut" else style.transition.duration
        project.title_card = " ".join((style.title_card or "").split()) or None
        for clip_id, clip in clips.items():
            text = " ".join(style.captions.get(clip_id, "").split())
            clip.caption = text or None
        await self.session.flush()
        return project

    async def list(self, user_id: uuid.UUID) -> list[ProjectSummary]:
        counts = (
            sa.select(
                m.Clip.project_id,
                sa.func.count().label("total"),
                sa.func.count().filter(m.Clip.status == m.ClipStatus.SUCCEEDED).label("ready"),
                sa.func.count().filter(m.Clip.status.in_(BUSY)).label("busy"),
                sa.func.count().filter(m.Clip.status == m.ClipStatus.FAILED).label("failed"),
            )
            .group_by(m.Clip.project_id)
            .subquery()
        )
        cover = (
            sa.select(m.Clip.poster_key, m.Photo.thumbnail_key)
            .join(m.Photo, m.Photo.id == m.Clip.photo_id)
            .where(m.Clip.project_id == m.Project.id)
            .order_by(m.Clip.position)
            .limit(1)
            .lateral()
        )
        rows = await self.session.execute(
            sa.select(m.Project, counts.c.total, counts.c.ready, counts.c.busy, counts.c.failed,
                      cover.c.poster_key, cover.c.thumbnail_key)
            .outerjoin(counts, counts.c.project_id == m.Project.id)
            .outerjoin(cover, sa.true())
            .where(m.Project.user_id == user_id)
            .order_by(m.Project.created_at.desc())
        )
        items = []
        for project, total, ready, busy, failed, poster, thumb in rows:
            cover_key = poster or thumb
            items.append(
                ProjectSummary(
                    id=project.id, title=project.title, aspect=project.aspect,  # type: ignore[arg-type]
                    created_at=project.created_at, clip_count=total or 0, ready_count=ready or 0,
                    generating_count=busy or 0, failed_count=failed or 0,
                    cover_url=self.signer.url(cover_key) if cover_key else None,
                )
            )
        return items

    # -- projects ------------------------------------------------------------------------

    async def create(self, user_id: uuid.UUID, data: ProjectCreate) -> m.Project:
        title = " ".join(data.title.split())
        if not title:
            raise InvalidInput("Please give the project a title.", field="title")
        project = m.Project(user_id=user_id, title=title, aspect=data.aspect, regenerations_used=0)
        self.session.add(project)
        await self.session.flush()
        return project

    async def rename(self, project: m.Project, title: str) -> m.Project:
        title = " ".join(title.split())
        if not title:
            raise InvalidInput("Please give the project a title.", field="title")
        project.title = title
        await self.session.flush()
        return project

    async def delete(self, project: m.Project) -> None:
        """Cancel running generations and renders, refund what was not delivered, delete the
        rows; the files (photos, clips, every render's video and poster) go after the commit."""
        clips = await self.clips(project.id)
        for clip in clips:
            await self._release_clip(clip, reason="project deleted")
        renders = (
            await self.session.execute(
                sa.select(m.Render.id, m.Render.status, m.Render.video_key, m.Render.poster_key)
                .where(m.Render.project_id == project.id)
            )
        ).all()
        for render in renders:
            if render.status in m.ACTIVE_RENDER_STATUSES:
                after_commit(
                    self.session,
                    lambda render_id=render.id: abort_render_project(self.queues, render_id, "project deleted"),
                )
        keys = [k for c in clips for k in (c.video_key, c.poster_key, c.photo.storage_key, c.photo.thumbnail_key) if k]
        keys += [k for r in renders for k in (r.video_key, r.poster_key) if k]
        photo_ids = [c.photo_id for c in clips]
        await self.session.delete(project)
        if photo_ids:
            await self.session.execute(sa.delete(m.Photo).where(m.Photo.id.in_(photo_ids)))
        await self.session.flush()
        after_commit(self.session, partial(self._delete_files, keys))
        log.info("project_deleted", project_id=str(project.id), clips=len(clips), files=len(keys))

    async def _delete_files(self, keys: list[str]) -> None:
        try:
            await self.storage.delete_many(keys)
        except OSError:
            log.warning("media_delete_failed", keys=keys)

    async def _release_clip(self, clip: m.Clip, *, reason: str) -> None:
        if clip.status in BUSY:
            after_commit(self.session, partial(abort_generate_clip, self.queues, clip.id, clip.generation, reason))
        if clip.charged_credits and clip.status != m.ClipStatus.SUCCEEDED and clip.user_id:
            await self.credits.refund_clip_generation(clip.user_id, clip.id, clip.generation, clip.charged_credits)

    # -- photos --------------------------------------------------------------------------

    async def add_photos(self, project: m.Project, user_id: uuid.UUID, uploads: list[UploadFile]) -> UploadResult:
        """Each file goes through the intake on its own: a bad file is reported and skipped,
        the good ones are kept. At most ``MAX_CLIPS_PER_PROJECT`` photos per project."""
        project_id = project.id
        limits = IntakeLimits(max_bytes=self.settings.upload_max_bytes)
        moderator = PhotoModerator(self.settings.media_safety)
        outcomes: list[UploadOutcome | None] = [None] * len(uploads)
        stored: list[tuple[int, StoredPhoto]] = []
        try:
            for index, upload in enumerate(uploads):
                name = upload.filename or f"photo {index + 1}"
                try:
                    photo = await normalise_upload(upload, limits, moderator=moderator)
                except EchoesError as exc:
                    outcomes[index] = UploadOutcome(
                        filename=name, ok=False, error=UploadError(code=exc.code, detail=exc.detail)
                    )
                    continue
                item = StoredPhoto(self.storage, photo)
                await item.write()
                stored.append((index, item))
            locked = await self.get_owned(project_id, user_id, lock=True)
            existing = await self.session.scalar(
                sa.select(sa.func.count()).where(m.Clip.project_id == locked.id)
            ) or 0
            last = await self.session.scalar(
                sa.select(sa.func.max(m.Clip.position)).where(m.Clip.project_id == locked.id)
            )
            position = -1 if last is None else last
            room = m.MAX_CLIPS_PER_PROJECT - existing
            kept: list[tuple[int, m.Clip]] = []
            for index, item in stored:
                name = uploads[index].filename or f"photo {index + 1}"
                if room <= 0:
                    await item.discard()
                    outcomes[index] = UploadOutcome(
                        filename=name, ok=False,
                        error=UploadError(
                            code="PROJECT_FULL",
                            detail=f"A project holds at most {m.MAX_CLIPS_PER_PROJECT} photos; "
                            "this one was not added. Start a second project for the rest.",
                        ),
                    )
                    continue
                room -= 1
                position += 1
                photo_row = item.model(visitor_id=None)
                photo_row.user_id = user_id
                self.session.add(photo_row)
                await self.session.flush()
                clip = m.Clip(
                    kind=m.ClipKind.PROJECT, status=m.ClipStatus.DRAFT, progress=0.0,
                    photo_id=photo_row.id, user_id=user_id, project_id=locked.id,
                    position=position, aspect=locked.aspect, watermarked=False,
                    intro_seconds=0.0, seed=uuid.uuid4().int % 2**31, attempts=0, generation=0,
                    charged_credits=0,
                )
                self.session.add(clip)
                kept.append((index, clip))
            await self.session.flush()
            for index, clip in kept:
                await self.session.refresh(clip, ["photo"])
                outcomes[index] = UploadOutcome(
                    filename=uploads[index].filename or f"photo {index + 1}", ok=True,
                    clip=self.clip_view(clip),
                )
            total = existing + len(kept)
        except BaseException:
            for _, item in stored:
                await item.discard()
            raise
        done = [o for o in outcomes if o is not None]
        accepted = sum(1 for o in done if o.ok)
        return UploadResult(outcomes=done, accepted=accepted, refused=len(done) - accepted, clip_count=total)

    # -- clips ---------------------------------------------------------------------------

    async def update_clip(self, project: m.Project, clip_id: uuid.UUID, prompt: str | None) -> m.Clip:
        clip = await self.get_clip(project, clip_id, lock=True)
        clip.prompt = clean_prompt(prompt)
        await self.session.flush()
        return clip

    async def generate(self, project_id: uuid.UUID, user_id: uuid.UUID) -> tuple[m.Project, int, int]:
        """Queue every clip that has no video yet; reserve one credit each, all or nothing."""
        project = await self.get_owned(project_id, user_id, lock=True)
        pending = [
            c for c in await self.clips(project.id)
            if c.status in (m.ClipStatus.DRAFT, m.ClipStatus.FAILED)
        ]
        for clip in pending:
            clean_prompt(clip.prompt)
        balance = await self.credits.spend_batch(
            user_id,
            [clip_charge_reference(c.id, c.generation + 1) for c in pending],
            m.CreditKind.GENERATION,
        )
        now = datetime.now(UTC)
        for clip in pending:
            lifecycle.start_generation(clip, charged_credits=1, now=now)
        await self.session.flush()
        self._queue_after_commit(user_id, pending)
        log.info("clips_generating", project_id=str(project_id), count=len(pending))
        return project, len(pending), balance

    async def regenerate(
        self, project_id: uuid.UUID, clip_id: uuid.UUID, user_id: uuid.UUID, prompt: str | None | object
    ) -> tuple[m.Clip, int, int, int]:
        """Make a clip again: free for the first three per project, then one credit each."""
        project = await self.get_owned(project_id, user_id, lock=True)
        clip = await self.get_clip(project, clip_id, lock=True)
        if clip.status in BUSY:
            raise ClipBusy("This clip is still being made. Wait for it to finish, then try again.")
        if clip.status == m.ClipStatus.DRAFT:
            raise ClipBusy("This photo has no clip yet: use “Create clips” to make it first.")
        if isinstance(prompt, str) or prompt is None:
            clip.prompt = clean_prompt(prompt)
        free = project.regenerations_used < m.FREE_REGENERATIONS
        spent = 0
        if free:
            balance = await self.credits.balance(user_id)
        else:
            balance = await self.credits.spend_batch(
                user_id, [clip_charge_reference(clip.id, clip.generation + 1)], m.CreditKind.REGENERATION
            )
            spent = 1
        project.regenerations_used += 1
        lifecycle.start_generation(clip, charged_credits=spent)
        await self.session.flush()
        left = max(m.FREE_REGENERATIONS - project.regenerations_used, 0)
        self._queue_after_commit(user_id, [clip])
        return clip, spent, left, balance

    def _queue_after_commit(self, user_id: uuid.UUID, clips: list[m.Clip]) -> None:
        """Once the new generations are committed: queue their jobs and tell the owner."""
        queued = [(c.id, c.project_id, c.generation) for c in clips]

        async def enqueue_and_announce() -> None:
            events = EventPublisher.from_queues(self.queues)
            for clip_id, project_id, generation in queued:
                await enqueue_generate_clip(self.queues, clip_id, generation)
                await events.publish(
                    user_owner(user_id),
                    ClipStatusEvent(clip_id=clip_id, project_id=project_id, status=m.ClipStatus.QUEUED, progress=0.0),
                )
            await announce_credit_changes(self.session, self.queues)

        after_commit(self.session, enqueue_and_announce)

    async def delete_clip(self, project_id: uuid.UUID, clip_id: uuid.UUID, user_id: uuid.UUID) -> None:
        project = await self.get_owned(project_id, user_id, lock=True)
        clip = await self.get_clip(project, clip_id, lock=True)
        await self._release_clip(clip, reason="clip deleted")
        keys = [k for k in (clip.video_key, clip.poster_key, clip.photo.storage_key, clip.photo.thumbnail_key) if k]
        photo_id = clip.photo_id
        await self.session.delete(clip)
        await self.session.execute(sa.delete(m.Photo).where(m.Photo.id == photo_id))
        await self._renumber(project.id)
        after_commit(self.session, partial(self._delete_files, keys))

    async def _renumber(self, project_id: uuid.UUID) -> None:
        await self.session.flush()
        for position, clip in enumerate(await self.clips(project_id)):
            clip.position = position
        await self.session.flush()

    async def reorder(self, project_id: uuid.UUID, user_id: uuid.UUID, clip_ids: list[uuid.UUID]) -> m.Project:
        project = await self.get_owned(project_id, user_id, lock=True)
        clips = {c.id: c for c in await self.clips(project.id)}
        if len(clip_ids) != len(set(clip_ids)) or set(clip_ids) != set(clips):
            raise InvalidInput(
                "The new order must list every clip of this project exactly once.",
                field="clipIds",
                expected=len(clips),
                received=len(clip_ids),
            )
        for position, clip_id in enumerate(clip_ids):
            clips[clip_id].position = position
        await self.session.flush()
        return project


class ClipBusy(Conflict):
    code = "CLIP_BUSY"
    title = "Clip is busy"
