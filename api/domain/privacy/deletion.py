"""Account deletion: everything of the person goes; the ledger and purchases stay, anonymous.

Credit ledger rows and purchases are kept for accounting (and so a late Stripe refund or
dispute still finds what it reverses). They point at the ``users`` row, which therefore
stays as a tombstone: ``deleted_at`` set, e-mail, name, password and referral code replaced,
ledger notes redacted. Photos, clips (free ones included), projects, renders, own music,
push subscriptions are deleted and every session is ended in one transaction; aborting the
running jobs and deleting the stored files follow the commit.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.db.transaction import after_commit
from api.domain.accounts.passwords import verify_password
from api.domain.accounts.services import WrongPassword
from api.domain.accounts.sessions import revoke_all_sessions
from api.domain.privacy.media import delete_stored_media
from api.errors import NotFound
from api.jobs import Queues, abort_generate_clip, abort_render_project
from api.storage import Storage

log = structlog.get_logger()

DELETED_NAME = "Deleted account"
ACCOUNT_DELETED = "account_deleted"
BUSY_CLIPS = (m.ClipStatus.QUEUED, m.ClipStatus.GENERATING)


@dataclass
class DeletedAccount:
    """What the deletion leaves to do once its transaction is committed."""

    user_id: uuid.UUID
    keys: list[str] = field(default_factory=list)
    clip_jobs: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    render_jobs: list[uuid.UUID] = field(default_factory=list)


def tombstone_email(user_id: uuid.UUID) -> str:
    return f"deleted-{user_id.hex}@deleted.invalid"


class AccountDeletion:
    def __init__(self, session: AsyncSession, *, storage: Storage, queues: Queues) -> None:
        self.session = session
        self.storage = storage
        self.queues = queues

    async def delete(self, user_id: uuid.UUID, password: str) -> DeletedAccount:
        """Check the password, then delete and anonymise within the caller's transaction;
        the jobs' aborts and the file deletions run after its commit."""
        user = await self.session.scalar(
            sa.select(m.User).where(m.User.id == user_id, m.User.deleted_at.is_(None)).with_for_update()
        )
        if user is None:
            raise NotFound("We could not find that account.")
        if not await verify_password(user.password_hash, password):
            raise WrongPassword(
                "That password is not right, so nothing was deleted. Type the password you "
                "log in with.",
                field="password",
            )
        done = DeletedAccount(user_id=user_id)
        projects = sa.select(m.Project.id).where(m.Project.user_id == user_id)
        clips = sa.or_(m.Clip.user_id == user_id, m.Clip.project_id.in_(projects))
        photos = sa.or_(m.Photo.user_id == user_id, m.Photo.id.in_(sa.select(m.Clip.photo_id).where(clips)))
        renders = sa.or_(m.Render.user_id == user_id, m.Render.project_id.in_(projects))

        for row in await self.session.execute(sa.select(m.Photo.storage_key, m.Photo.thumbnail_key).where(photos)):
            done.keys.extend(row)
        for row in await self.session.execute(
            sa.select(m.Clip.id, m.Clip.generation, m.Clip.status, m.Clip.video_key, m.Clip.poster_key).where(clips)
        ):
            if row.status in BUSY_CLIPS:
                done.clip_jobs.append((row.id, row.generation))
            done.keys.extend((row.video_key, row.poster_key))
        for row in await self.session.execute(
            sa.select(m.Render.id, m.Render.status, m.Render.video_key, m.Render.poster_key).where(renders)
        ):
            if row.status in m.ACTIVE_RENDER_STATUSES:
                done.render_jobs.append(row.id)
            done.keys.extend((row.video_key, row.poster_key))
        for row in await self.session.execute(
            sa.select(m.MusicTrack.storage_key, m.MusicTrack.preview_key, m.MusicTrack.source_key)
            .where(m.MusicTrack.user_id == user_id)
        ):
            done.keys.extend(row)
        done.keys = [k for k in dict.fromkeys(done.keys) if k]

        photo_ids = list(await self.session.scalars(sa.select(m.Photo.id).where(photos)))
        await self.session.execute(sa.delete(m.Render).where(renders))
        await self.session.execute(sa.delete(m.Clip).where(clips))
        await self.session.execute(sa.delete(m.Project).where(m.Project.user_id == user_id))
        if photo_ids:
            await self.session.execute(sa.delete(m.Photo).where(m.Photo.id.in_(photo_ids)))
        await self.session.execute(sa.delete(m.MusicTrack).where(m.MusicTrack.user_id == user_id))
        await self.session.execute(sa.delete(m.PushSubscription).where(m.PushSubscription.user_id == user_id))
        await revoke_all_sessions(self.session, user_id, reason=ACCOUNT_DELETED)
        await self.session.execute(
            sa.update(m.CreditTransaction)
            .where(m.CreditTransaction.user_id == user_id, m.CreditTransaction.note.is_not(None))
            .values(note=None)
        )
        user.email = tombstone_email(user_id)
        user.password_hash = "!deleted"
        user.display_name = DELETED_NAME
        # Lower case never matches a typed code (codes are looked up upper-cased).
        user.referral_code = f"x{secrets.token_hex(7)}"
        user.flagged_reason = None
        user.role = m.UserRole.USER
        user.deleted_at = datetime.now(UTC)
        await self.session.flush()
        after_commit(self.session, lambda: self._after_commit(done))
        log.info(
            "account_deleted", user_id=str(user_id), files=len(done.keys),
            clip_jobs=len(done.clip_jobs), render_jobs=len(done.render_jobs),
        )
        return done

    async def _after_commit(self, done: DeletedAccount) -> None:
        """Stop the account's running jobs and delete its stored files."""
        for clip_id, generation in done.clip_jobs:
            await abort_generate_clip(self.queues, clip_id, generation, "account deleted")
        for render_id in done.render_jobs:
            await abort_render_project(self.queues, render_id, "account deleted")
        await delete_stored_media(self.storage, done.keys, reason="account deleted")
