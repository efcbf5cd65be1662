from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.db.models import ClipStatus

Aspect = Literal["16:9", "9:16", "1:1"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class ProjectCreate(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    title: Title
    aspect: Aspect = "16:9"


class ProjectUpdate(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    title: Title


class PhotoView(msgspec.Struct, rename="camel"):
    width: int
    height: int
    thumbnail_url: str


TransitionName = Literal["cut", "crossfade", "fade_black", "slide", "wipe"]


class Transition(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    kind: TransitionName = "crossfade"
    duration: Annotated[float, msgspec.Meta(ge=0, le=2)] = 0.5


class ProjectMusic(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    track_id: uuid.UUID | None = None
    start_offset: Annotated[float, msgspec.Meta(ge=0, le=600)] = 0.0
    volume: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.8
    beat_sync: bool = False


class ProjectStyle(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    transition: Transition = msgspec.field(default_factory=Transition)
    title_card: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    captions: dict[uuid.UUID, Annotated[str, msgspec.Meta(max_length=200)]] = msgspec.field(default_factory=dict)


class ClipView(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    position: int
    status: ClipStatus
    progress: float
    prompt: str | None
    caption: str | None
    photo: PhotoView
    generation: int
    watermarked: bool
    provider: str | None = None
    duration_seconds: float | None = None
    video_url: str | None = None
    poster_url: str | None = None
    error: str | None = None


class ProjectView(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    aspect: Aspect
    created_at: datetime
    updated_at: datetime
    clips: list[ClipView]
    free_regenerations_left: int
    max_clips: int
    music: ProjectMusic
    style: ProjectStyle


class ProjectSummary(msgspec.Struct, rename="camel"):
    id: uuid.UUID
    title: str
    aspect: Aspect
    created_at: datetime
    clip_count: int
    ready_count: int
    generating_count: int
    failed_count: int
    cover_url: str | None


class ProjectList(msgspec.Struct, rename="camel"):
    items: list[ProjectSummary]


class UploadError(msgspec.Struct, rename="camel"):
    code: str
    detail: str


class UploadOutcome(msgspec.Struct, rename="camel"):
    filename: str
    ok: bool
    clip: ClipView | None = None
    error: UploadError | None = None


class UploadResult(msgspec.Struct, rename="camel"):
    outcomes: list[UploadOutcome]
    accepted: int
    refused: int
    clip_count: int


class ClipUpdate(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class RegenerateRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(max_length=2000)] | None | msgspec.UnsetType = msgspec.UNSET


class ReorderRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    clip_ids: list[uuid.UUID]


class GenerateResult(msgspec.Struct, rename="camel"):
    queued: int
    credits_spent: int
    balance: int
    project: ProjectView


class RegenerateResult(msgspec.Struct, rename="camel"):
    clip: ClipView
    credits_spent: int
    free_regenerations_left: int
    balance: int
