"""Per-account storage quotas, checked before an upload is stored.

Usage is what the account's rows say it keeps (``size_bytes`` of its photos and of its own
music tracks). The incoming size is the upload as received: normalised files are usually
smaller, so an upload that fits by this measure fits once stored. Two uploads racing each
other can overshoot the quota by at most one upload; the per-account upload rate limits
bound how far.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import StorageQuotas
from api.db import models as m
from api.errors import StorageQuotaExceeded


def upload_size(upload: UploadFile) -> int:
    """Bytes of an upload the server has already received (spooled in memory or on disk)."""
    handle = upload.file
    position = handle.tell()
    size = handle.seek(0, os.SEEK_END)
    handle.seek(position)
    return size


def describe_bytes(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"


class StorageQuota:
    def __init__(self, session: AsyncSession, quotas: StorageQuotas) -> None:
        self.session = session
        self.quotas = quotas

    async def photo_bytes_used(self, user_id: uuid.UUID) -> int:
        used = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(m.Photo.size_bytes), 0)).where(m.Photo.user_id == user_id)
        )
        return int(used or 0)

    async def music_bytes_used(self, user_id: uuid.UUID) -> int:
        used = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(m.MusicTrack.size_bytes), 0)).where(
                m.MusicTrack.user_id == user_id
            )
        )
        return int(used or 0)

    async def check_photos(self, user_id: uuid.UUID, uploads: Iterable[UploadFile]) -> None:
        """Raise 413 ``STORAGE_QUOTA_EXCEEDED`` if the photos would not fit in the account."""
        incoming = sum(upload_size(u) for u in uploads)
        used = await self.photo_bytes_used(user_id)
        _check(used, incoming, self.quotas.photo_bytes, "photos",
               "Delete photos or projects you no longer need to make room.")

    async def check_music(self, user_id: uuid.UUID, upload: UploadFile) -> None:
        used = await self.music_bytes_used(user_id)
        _check(used, upload_size(upload), self.quotas.music_bytes, "music",
               "Delete tracks you no longer use to make room.")


def _check(used: int, incoming: int, quota: int, what: str, remedy: str) -> None:
    if used + incoming <= quota:
        return
    raise StorageQuotaExceeded(
        f"Your {what} take {describe_bytes(used)} of the {describe_bytes(quota)} your account can "
        f"keep, and this upload needs {describe_bytes(incoming)} more. {remedy}",
        usedBytes=used, quotaBytes=quota, uploadBytes=incoming,
    )
