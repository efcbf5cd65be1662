from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec
from litestar.datastructures import UploadFile

from api.db.models import ClipStatus


@dataclass
class FreeTryUpload:
    photo: UploadFile


class FreeTryClip(msgspec.Struct, rename="camel"):
    """A free-try clip as the visitor sees it; URLs are signed and expire."""

    id: uuid.UUID
    status: ClipStatus
    progress: float
    provider: str | None
    watermarked: bool
    created_at: datetime
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    video_url: str | None = None
    poster_url: str | None = None
    #: Only for the signed-in account that claimed the clip ("sign up to download").
    download_url: str | None = None
    error: str | None = None
