from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.models.photo import Photo
from api.db.models.types import str_enum


class ClipStatus(enum.StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    GENERATING = "generating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ClipKind(enum.StrEnum):
    FREE_TRY = "free_try"
    PROJECT = "project"


class Clip(UUIDv7AuditBase):
    """One animated clip made from one photo, and the state of its generation.

    The generation job keeps all of its state here (not in the queue): a job that runs twice
    sees a succeeded clip and stops.
    """

    __tablename__ = "clips"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
        sa.Index("ix_clips_visitor_created", "visitor_id", "created_at"),
        sa.Index("ix_clips_client_ip_created", "client_ip_hash", "created_at"),
        sa.Index("ix_clips_status", "status"),
        sa.Index("ix_clips_project_position", "project_id", "position"),
        sa.CheckConstraint(
            "(kind = 'project') = (project_id IS NOT NULL AND position IS NOT NULL)",
            name="project_clips_placed",
        ),
        sa.CheckConstraint("charged_credits >= 0", name="charged_not_negative"),
    )

    kind: Mapped[ClipKind] = mapped_column(str_enum(ClipKind, "clip_kind"))
    status: Mapped[ClipStatus] = mapped_column(
        str_enum(ClipStatus, "clip_status"), default=ClipStatus.QUEUED
    )
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    photo_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"))
    visitor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    client_ip_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    position: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    prompt: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    caption: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    generation: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    charged_credits: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    aspect: Mapped[str] = mapped_column(sa.String(8), default="16:9")
    watermarked: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    intro_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)
    seed: Mapped[int] = mapped_column(sa.Integer, default=0)

    provider: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    provider_job_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    provider_cost: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)

    video_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    poster_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    width: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    error_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    failure_detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    generation_ms: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    photo: Mapped[Photo] = relationship(lazy="joined", innerjoin=True)
