"""Taking an uploaded photo in: intake, storage and the ``photos`` row, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from litestar.datastructures import UploadFile

from api.db import models as m
from api.domain.moderation.photos import PhotoModerator
from api.domain.photos.intake import IntakeLimits, NormalisedPhoto, normalise_photo, read_limited
from api.storage import Storage, new_key

UPLOAD_CHUNK = 256 * 1024
#: Decoding a large photo can take a few hundred MB; at most this many at once per process.
_DECODE_SLOTS = anyio.CapacityLimiter(2)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


async def normalise_upload(
    upload: UploadFile, limits: IntakeLimits, *, moderator: PhotoModerator
) -> NormalisedPhoto:
    """Read an upload (refusing it as soon as it passes the size limit), normalise it and
    moderate it, before anything is stored: a refused photo leaves nothing behind.

    The classifier sees the thumbnail: the model looks at 224 pixels square, so the full
    photo would only cost a larger decode for the same answer.
    """
    data = await read_limited(_chunks(upload), limits.max_bytes)
    photo = await anyio.to_thread.run_sync(normalise_photo, data, limits, limiter=_DECODE_SLOTS)
    await moderator.check(photo.thumbnail)
    return photo


class StoredPhoto:
    """A normalised photo written to storage but not yet recorded; ``discard()`` undoes it."""

    def __init__(self, storage: Storage, photo: NormalisedPhoto) -> None:
        self.storage = storage
        self.photo = photo
        self.storage_key = new_key("photos", "photo.jpg")
        self.thumbnail_key = new_key("photos", "thumb.jpg")

    async def write(self) -> None:
        await self.storage.put_bytes(self.storage_key, self.photo.jpeg, content_type="image/jpeg")
        try:
            await self.storage.put_bytes(self.thumbnail_key, self.photo.thumbnail, content_type="image/jpeg")
        except BaseException:
            await self.discard()
            raise

    async def discard(self) -> None:
        """Shielded: it runs on the way out of a cancelled or failed request."""
        with anyio.CancelScope(shield=True):
            await self.storage.delete_many([self.storage_key, self.thumbnail_key])

    def model(self, *, visitor_id: uuid.UUID | None) -> m.Photo:
        return m.Photo(
            visitor_id=visitor_id,
            storage_key=self.storage_key,
            thumbnail_key=self.thumbnail_key,
            width=self.photo.width,
            height=self.photo.height,
            source_format=self.photo.source_format,
            size_bytes=len(self.photo.jpeg),
        )
