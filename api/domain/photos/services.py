"""Taking an uploaded photo in: intake, storage and the ``photos`` row, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from litestar.datastructures import UploadFile

from api.db import models as m
from api.domain.photos.intake import IntakeLimits, NormalisedPhoto, normalise_photo, read_limited
from api.storage import Storage, new_key

UPLOAD_CHUNK = 256 * 1024
#: Decoding a large photo can take a few hundred MB; at most this many at once per process.
_DECODE_SLOTS = anyio.CapacityLimiter(2)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


async def normalise_upload(upload: UploadFile, limits: IntakeLimits) -> NormalisedPhoto:
    """Read an upload (refusing it as soon as it passes the size limit) and normalise it."""
    data = await read_limited(_chunks(upload), limits.max_bytes)
    return await anyio.to_thread.run_sync(normalise_photo, data, limits, limiter=_DECODE_SLOTS)


class StoredPhoto:
    """A normalised photo written to storage but not yet recorded; ``discard()`` undoes it."""

    def __init__(self, storage: Storage, photo: NormalisedPhoto) -> None:
        self.storage = storage
        self.photo = photo
        self.storage_key = new_key("photos", "photo.jpg")
        self.thumbnail_key = new_key("photos", "thumb.jpg")

    def write(self) -> None:
        self.storage.put_bytes(self.storage_key, self.photo.jpeg)
        try:
            self.storage.put_bytes(self.thumbnail_key, self.photo.thumbnail)
        except BaseException:
            self.storage.delete(self.storage_key)
            raise

    def discard(self) -> None:
        self.storage.delete(self.storage_key)
        self.storage.delete(self.thumbnail_key)

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
