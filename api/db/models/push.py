from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column

#: Longest push-service endpoint URL accepted (real ones are a few hundred characters).
MAX_ENDPOINT_LENGTH = 2048


class PushSubscription(UUIDv7AuditBase):
    """One browser's Web Push subscription (``PushSubscription.toJSON()``) for a user.

    A user has one per device; the endpoint is unique, so a browser that subscribes again,
    or under another account, updates its row instead of adding one.
    """

    __tablename__ = "push_subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(sa.String(MAX_ENDPOINT_LENGTH), unique=True)
    p256dh: Mapped[str] = mapped_column(sa.String(128))
    auth: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
