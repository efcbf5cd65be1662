from __future__ import annotations

import uuid

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy.orm import Mapped, mapped_column

FREE_REGENERATIONS = 3
MAX_CLIPS_PER_PROJECT = 40


class Project(UUIDv7AuditBase):
    """A user's video in the making: photos -> clips in order (-> music and a render)."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint("aspect IN ('16:9', '9:16', '1:1')", name="aspect_known"),
        sa.CheckConstraint("regenerations_used >= 0", name="regenerations_not_negative"),
        sa.Index("ix_projects_user_created", "user_id", "created_at"),
        sa.CheckConstraint("music_volume >= 0 AND music_volume <= 1", name="music_volume_range"),
        sa.CheckConstraint("music_start_offset >= 0", name="music_offset_not_negative"),
        sa.CheckConstraint(
            "transition_kind IN ('cut', 'crossfade', 'fade_black', 'slide', 'wipe')", name="transition_known"
        ),
        sa.CheckConstraint("transition_duration >= 0 AND transition_duration <= 2", name="transition_range"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(120))
    aspect: Mapped[str] = mapped_column(sa.String(8))
    regenerations_used: Mapped[int] = mapped_column(sa.Integer, default=0)

    music_track_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("music_tracks.id", ondelete="SET NULL"), nullable=True
    )
    music_start_offset: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    music_volume: Mapped[float] = mapped_column(sa.Float, default=0.8, server_default="0.8")
    beat_sync: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    transition_kind: Mapped[str] = mapped_column(sa.String(16), default="crossfade", server_default="crossfade")
    transition_duration: Mapped[float] = mapped_column(sa.Float, default=0.5, server_default="0.5")
    title_card: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
