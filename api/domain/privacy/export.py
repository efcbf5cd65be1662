"""Data export: one ZIP with the person's photos, clip and render videos, own music and an
``account.json`` (account, projects, free clips, ledger, purchases).

Everything the archive needs is read from the database first (so the request's session is
not used while streaming); the archive is then written member by member to the response:
each stored file is downloaded to a scratch file, fed through :mod:`zipfile` in chunks
and sent on. Memory stays at about one chunk whatever the size of the account. Media is
stored (not deflated): JPEG, H.264 and AAC do not compress further.
"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.errors import NotFound
from api.storage import Storage

CHUNK = 1024 * 1024


class ExportedClip(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    status: str
    created_at: datetime
    photo_file: str | None
    video_file: str | None
    position: int | None = None
    prompt: str | None = None
    caption: str | None = None


class ExportedRender(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    status: str
    created_at: datetime
    video_file: str | None
    shared: bool


class ExportedProject(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    aspect: str
    created_at: datetime
    clips: list[ExportedClip]
    renders: list[ExportedRender]


class ExportedTrack(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    created_at: datetime
    file: str


class ExportedAccount(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime
    credit_balance: int
    referral_code: str


class ExportedLedgerEntry(msgspec.Struct, rename="camel"):
    created_at: datetime
    kind: str
    amount: int
    balance_after: int
    reference: str
    note: str | None


class ExportedPurchase(msgspec.Struct, rename="camel"):
    created_at: datetime
    pack_id: str
    credits: int
    amount_cents: int
    currency: str
    status: str
    refunded_cents: int
    paid_at: datetime | None


class AccountDocument(msgspec.Struct, rename="camel"):
    exported_at: datetime
    account: ExportedAccount
    projects: list[ExportedProject]
    free_clips: list[ExportedClip]
    music: list[ExportedTrack]
    ledger: list[ExportedLedgerEntry]
    purchases: list[ExportedPurchase]


@dataclass
class ExportPlan:
    """The archive to write: ``account.json`` and (name in the archive, storage key) pairs."""

    document: bytes
    files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"echoes-export-{datetime.now(UTC):%Y-%m-%d}.zip"


class AccountExport:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan(self, user_id: uuid.UUID) -> ExportPlan:
        user = await self.session.scalar(
            sa.select(m.User).where(m.User.id == user_id, m.User.deleted_at.is_(None))
        )
        if user is None:
            raise NotFound("We could not find that account.")
        files: list[tuple[str, str]] = []

        def clip_entry(clip: m.Clip) -> ExportedClip:
            photo_file = f"photos/{clip.photo_id}.jpg"
            files.append((photo_file, clip.photo.storage_key))
            video_file = None
            if clip.video_key:
                video_file = f"clips/{clip.id}.mp4"
                files.append((video_file, clip.video_key))
            return ExportedClip(
                id=clip.id, status=clip.status, created_at=clip.created_at, photo_file=photo_file,
                video_file=video_file, position=clip.position, prompt=clip.prompt, caption=clip.caption,
            )

        clips = list(
            await self.session.scalars(
                sa.select(m.Clip).where(m.Clip.user_id == user_id).order_by(m.Clip.project_id, m.Clip.position, m.Clip.created_at)
            )
        )
        renders = list(
            await self.session.scalars(
                sa.select(m.Render).where(m.Render.user_id == user_id).order_by(m.Render.created_at)
            )
        )
        projects = []
        for project in await self.session.scalars(
            sa.select(m.Project).where(m.Project.user_id == user_id).order_by(m.Project.created_at)
        ):
            project_renders = []
            for render in (r for r in renders if r.project_id == project.id):
                video_file = None
                if render.status == m.RenderStatus.SUCCEEDED and render.video_key:
                    video_file = f"videos/{render.id}.mp4"
                    files.append((video_file, render.video_key))
                project_renders.append(
                    ExportedRender(
                        id=render.id, title=render.title, status=render.status, created_at=render.created_at,
                        video_file=video_file, shared=render.share_slug is not None,
                    )
                )
            projects.append(
                ExportedProject(
                    id=project.id, title=project.title, aspect=project.aspect, created_at=project.created_at,
                    clips=[clip_entry(c) for c in clips if c.project_id == project.id],
                    renders=project_renders,
                )
            )
        free_clips = [clip_entry(c) for c in clips if c.kind == m.ClipKind.FREE_TRY]
        music = []
        for track in await self.session.scalars(
            sa.select(m.MusicTrack).where(m.MusicTrack.user_id == user_id).order_by(m.MusicTrack.created_at)
        ):
            name = f"music/{track.id}{Path(track.storage_key).suffix}"
            files.append((name, track.storage_key))
            music.append(ExportedTrack(id=track.id, title=track.title, created_at=track.created_at, file=name))
        ledger = [
            ExportedLedgerEntry(
                created_at=row.created_at, kind=row.kind, amount=row.amount, balance_after=row.balance_after,
                reference=row.reference, note=row.note,
            )
            for row in await self.session.scalars(
                sa.select(m.CreditTransaction)
                .where(m.CreditTransaction.user_id == user_id)
                .order_by(m.CreditTransaction.created_at, m.CreditTransaction.id)
            )
        ]
        purchases = [
            ExportedPurchase(
                created_at=row.created_at, pack_id=row.pack_id, credits=row.credits,
                amount_cents=row.amount_cents, currency=row.currency, status=row.status,
                refunded_cents=row.refunded_cents, paid_at=row.paid_at,
            )
            for row in await self.session.scalars(
                sa.select(m.Purchase).where(m.Purchase.user_id == user_id).order_by(m.Purchase.created_at)
            )
        ]
        document = AccountDocument(
            exported_at=datetime.now(UTC),
            account=ExportedAccount(
                id=user.id, email=user.email, display_name=user.display_name, created_at=user.created_at,
                credit_balance=user.credit_balance, referral_code=user.referral_code,
            ),
            projects=projects, free_clips=free_clips, music=music, ledger=ledger, purchases=purchases,
        )
        return ExportPlan(document=msgspec.json.format(msgspec.json.encode(document)), files=files)


class _Chunks:
    """A write-only, unseekable file for :class:`zipfile.ZipFile` that collects output."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


async def stream_archive(plan: ExportPlan, storage: Storage, scratch_dir: Path) -> AsyncIterator[bytes]:
    """The ZIP, chunk by chunk. A file that vanished since the plan (deleted meanwhile) is
    left out rather than breaking the download."""
    sink = _Chunks()
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="export-") as tmp:
        scratch = Path(tmp) / "member"
        with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
            archive.writestr("account.json", plan.document, compress_type=zipfile.ZIP_DEFLATED)
            for name, key in plan.files:
                try:
                    await storage.download(key, scratch)
                except FileNotFoundError:
                    continue
                info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
                info.file_size = scratch.stat().st_size
                async with await anyio.open_file(scratch, "rb") as source:
                    with archive.open(info, mode="w") as member:
                        while chunk := await source.read(CHUNK):
                            member.write(chunk)
                            if data := sink.take():
                                yield data
                if data := sink.take():
                    yield data
                scratch.unlink(missing_ok=True)
        if data := sink.take():
            yield data
