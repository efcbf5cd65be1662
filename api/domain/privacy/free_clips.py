"""Free clips that belong to an account (claimed at sign-up or log-in).

A claimed free clip is the account's: it is listed here, opened from any device the person
logs in on, and no longer through the browser's visitor cookie. It stays while the account
exists (the 24-hour expiry is for unclaimed clips) and goes with the account.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m


async def account_free_clips(session: AsyncSession, user_id: uuid.UUID) -> list[m.Clip]:
    rows = await session.scalars(
        sa.select(m.Clip)
        .where(m.Clip.user_id == user_id, m.Clip.kind == m.ClipKind.FREE_TRY)
        .order_by(m.Clip.created_at.desc(), m.Clip.id)
    )
    return list(rows)
