from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.types import str_enum


class RenderStatus(enum.StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_RENDER_STATUSES = (RenderStatus.QUEUED, RenderStatus.RENDERING)


class Render(UUIDv7AuditBase):
    """One assembly of a project into a video; at most one active per project."""

    __tablename__ = "renders"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
        sa.Index("ix_renders_project_created", "project_id", "created_at"),
        sa.Index(
            "uq_renders_one_active_per_project",
            "project_id",
            unique=True,
            postgresql_where=sa.text("status IN ('queued', 'rendering')"),
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RenderStatus] = mapped_column(
        str_enum(RenderStatus, "render_status"), default=RenderStatus.QUEUED
    )
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    #: Times the render sweep queued this render again after its job was lost.
    requeues: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    watermarked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    mode: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    video_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    poster_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    width: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    render_seconds: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    error_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    failure_detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    share_slug: Mapped[str | None] = mapped_column(sa.String(32), nullable=True, unique=True)
    shared_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
