from __future__ import annotations

import enum
import uuid

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.types import str_enum


class TrackSource(enum.StrEnum):
    BUILTIN = "builtin"
    UPLOAD = "upload"


class TrackStatus(enum.StrEnum):
    """An upload is ``processing`` until the ``transcode_music`` job has made the stored
    file; built-in tracks are always ``ready``."""

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class MusicTrack(UUIDv7AuditBase):
    """A music track: one of the built-in library (no owner) or a user's own upload."""

    __tablename__ = "music_tracks"
    __table_args__ = (
        sa.CheckConstraint(
            "(source = 'builtin') = (user_id IS NULL)", name="builtin_tracks_have_no_owner"
        ),
        sa.CheckConstraint("duration_seconds > 0", name="duration_positive"),
        sa.Index("ix_music_tracks_user_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    source: Mapped[TrackSource] = mapped_column(str_enum(TrackSource, "track_source"))
    slug: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    mood: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    bpm: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    duration_seconds: Mapped[float] = mapped_column(sa.Float)
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    preview_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[TrackStatus] = mapped_column(
        str_enum(TrackStatus, "track_status"), server_default=TrackStatus.READY.value
    )
    #: The sentence shown for a ``failed`` upload.
    failure: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    #: The raw upload while it waits for the transcode (deleted once it is done).
    source_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
