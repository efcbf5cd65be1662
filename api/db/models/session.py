from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column


class UserSession(UUIDv7AuditBase):
    """One signed-in browser (a refresh-token family): listed, and ended, from the settings page.

    The access token names this row and is checked against it on every request, so setting
    ``revoked_at`` ends the session at once. Only a keyed hash of the current refresh token is
    kept (``refresh_token_hash``), with the one before it for the short window in which two
    tabs may refresh at the same moment; an older token coming back means it was copied, and
    ends the session. ``ip_network`` is the client's network (IPv4 /24, IPv6 /48), enough for
    "where was this?" without keeping the address itself.
    """

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(sa.String(120))
    ip_network: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    refresh_generation: Mapped[int] = mapped_column(sa.Integer, default=0)
    refresh_token_hash: Mapped[str] = mapped_column(sa.String(64))
    previous_refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
