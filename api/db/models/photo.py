from __future__ import annotations

import uuid

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy.orm import Mapped, mapped_column


class Photo(UUIDv7AuditBase):
    """A photo after intake: a normalised JPEG (no metadata) and its thumbnail."""

    __tablename__ = "photos"
    __table_args__ = (
        sa.CheckConstraint("visitor_id IS NOT NULL OR user_id IS NOT NULL", name="owner_present"),
        sa.Index("ix_photos_visitor_id", "visitor_id"),
        sa.Index("ix_photos_user_id", "user_id"),
    )

    visitor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    source_format: Mapped[str] = mapped_column(sa.String(16))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
