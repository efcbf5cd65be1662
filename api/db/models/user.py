from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.types import str_enum


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(UUIDv7AuditBase):
    """An account. ``credit_balance`` is a cache of the ledger's sum, written only by the
    credit service in the same transaction as the ledger row (and never below zero)."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("credit_balance >= 0", name="credit_balance_not_negative"),
        sa.CheckConstraint("credits_owed >= 0", name="credits_owed_not_negative"),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("referred_by_id IS NULL OR referred_by_id <> id", name="no_self_referral"),
    )

    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"), default=UserRole.USER)
    credit_balance: Mapped[int] = mapped_column(sa.Integer, default=0)
    referral_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    referred_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    credits_owed: Mapped[int] = mapped_column(sa.Integer, default=0)
    flagged_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    #: When the person proved they own ``email``; bonuses (sign-up, referral) wait for it.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: Set when the person deleted the account: the row stays as an anonymous tombstone
    #: that the credit ledger and purchases (kept for accounting) point at.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
