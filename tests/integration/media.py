"""Media and rows that the HTTP API makes only through the worker (clip videos, renders) or
through outside services (purchases, push subscriptions), seeded directly for tests that are
about what happens to them afterwards (deletion, export, the orphan sweep)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db import models as m
from api.storage import Storage, new_key

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"video" * 50
JPEG = b"\xff\xd8\xff\xe0" + b"poster" * 50


async def all_keys(storage: Storage) -> set[str]:
    return {key async for key in storage.list_keys()}


async def finish_clips(db: async_sessionmaker[AsyncSession], storage: Storage, project_id: str) -> list[str]:
    """Give every clip of the project a stored video and poster, as a finished generation
    does; returns the new keys."""
    keys: list[str] = []
    async with db() as session, session.begin():
        for clip in await session.scalars(sa.select(m.Clip).where(m.Clip.project_id == uuid.UUID(project_id))):
            clip.video_key, clip.poster_key = new_key("clips", "clip.mp4"), new_key("clips", "poster.jpg")
            clip.status = m.ClipStatus.SUCCEEDED
            await storage.put_bytes(clip.video_key, MP4)
            await storage.put_bytes(clip.poster_key, JPEG)
            keys += [clip.video_key, clip.poster_key]
    return keys


async def finish_render(
    db: async_sessionmaker[AsyncSession], storage: Storage, project_id: str, user_id: str,
    *, status: m.RenderStatus = m.RenderStatus.SUCCEEDED,
) -> m.Render:
    """A render of the project with its stored video and poster, as the render job leaves it."""
    render = m.Render(
        project_id=uuid.UUID(project_id), user_id=uuid.UUID(user_id), status=status, progress=1.0,
        watermarked=False, title="Family video", video_key=new_key("renders", "video.mp4"),
        poster_key=new_key("renders", "poster.jpg"), finished_at=datetime.now(UTC),
    )
    await storage.put_bytes(render.video_key or "", MP4 + secrets.token_bytes(8))
    await storage.put_bytes(render.poster_key or "", JPEG)
    async with db() as session, session.begin():
        session.add(render)
    return render


async def own_track(db: async_sessionmaker[AsyncSession], storage: Storage, user_id: str) -> m.MusicTrack:
    track = m.MusicTrack(
        user_id=uuid.UUID(user_id), source=m.TrackSource.UPLOAD, title="Our song",
        duration_seconds=30.0, storage_key=new_key("music", "track.m4a"), size_bytes=100,
    )
    await storage.put_bytes(track.storage_key, b"m4a" * 30)
    async with db() as session, session.begin():
        session.add(track)
    return track


async def paid_purchase(db: async_sessionmaker[AsyncSession], user_id: str) -> m.Purchase:
    purchase = m.Purchase(
        user_id=uuid.UUID(user_id), checkout_session_id=f"cs_test_{secrets.token_hex(8)}",
        payment_intent_id=f"pi_test_{secrets.token_hex(8)}", pack_id="starter", credits=5,
        amount_cents=1500, currency="usd", status=m.PurchaseStatus.PAID, demo=True,
        credits_granted=True, refunded_cents=0, credits_reversed=0, paid_at=datetime.now(UTC),
    )
    async with db() as session, session.begin():
        session.add(purchase)
    return purchase


async def push_subscription(db: async_sessionmaker[AsyncSession], user_id: str) -> None:
    async with db() as session, session.begin():
        session.add(
            m.PushSubscription(
                user_id=uuid.UUID(user_id), endpoint=f"https://push.example.com/{secrets.token_hex(8)}",
                p256dh="p" * 87, auth="a" * 22,
            )
        )
