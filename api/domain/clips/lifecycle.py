"""The clip state machine: the only code that moves a clip from one state to another.

::

    draft | failed | succeeded --start_generation--> queued --begin_attempt--> generating
    queued | generating --fail--> failed            generating --succeed--> succeeded

Every generation of a clip has a number. :func:`start_generation` bumps it and forgets
everything the previous generation left behind (its provider, provider job and attempts), so
a new generation never resumes the previous one's provider job. Every later transition is a
conditional ``UPDATE … WHERE generation = :g``: a job still running for an older generation
can neither record progress, succeed, fail nor refund the current one.

Generate, regenerate, the admin retry, the free try and the worker all go through here; none
of them writes ``status`` themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.credits.services import CreditService

BUSY = (m.ClipStatus.QUEUED, m.ClipStatus.GENERATING)
#: Progress shown as soon as a worker picks the clip up, so the bar moves at once.
STARTED_PROGRESS = 0.02


def start_generation(clip: m.Clip, *, charged_credits: int, now: datetime | None = None) -> int:
    """Reset ``clip`` (a row the caller has locked, or a new one) for a new generation, queued.

    The previous video stays until the new one succeeds. Returns the new generation number,
    which the job must carry.
    """
    clip.generation = (clip.generation or 0) + 1
    clip.status = m.ClipStatus.QUEUED
    clip.progress = 0.0
    clip.charged_credits = charged_credits
    clip.provider = None
    clip.provider_job_id = None
    clip.provider_cost = None
    clip.attempts = 0
    clip.error_message = None
    clip.failure_detail = None
    clip.queued_at = now or datetime.now(UTC)
    clip.started_at = None
    clip.finished_at = None
    clip.generation_ms = None
    return clip.generation


def _this_generation(clip_id: uuid.UUID, generation: int, *statuses: m.ClipStatus) -> list[Any]:
    return [m.Clip.id == clip_id, m.Clip.generation == generation, m.Clip.status.in_(statuses)]


@dataclass(frozen=True)
class Attempt:
    """A generation a worker has started (or resumed)."""

    attempts: int
    provider: str | None
    provider_job_id: str | None


async def begin_attempt(session: AsyncSession, clip_id: uuid.UUID, generation: int) -> Attempt | None:
    """queued/generating -> generating for one more attempt; ``None`` when this generation is
    no longer current or already finished. ``provider_job_id`` is the provider job this
    generation submitted before (to resume instead of paying for a new one)."""
    row = (
        await session.execute(
            sa.update(m.Clip)
            .where(*_this_generation(clip_id, generation, *BUSY))
            .values(
                status=m.ClipStatus.GENERATING,
                started_at=datetime.now(UTC),
                attempts=m.Clip.attempts + 1,
                progress=sa.func.greatest(m.Clip.progress, STARTED_PROGRESS),
                error_message=None,
            )
            .returning(m.Clip.attempts, m.Clip.provider, m.Clip.provider_job_id)
        )
    ).one_or_none()
    return None if row is None else Attempt(row.attempts, row.provider, row.provider_job_id)


async def record_submission(
    session: AsyncSession, clip_id: uuid.UUID, generation: int, *, provider: str, job_id: str
) -> bool:
    """Remember the provider job of a running generation (so a later attempt resumes it)."""
    result = await session.execute(
        sa.update(m.Clip)
        .where(*_this_generation(clip_id, generation, m.ClipStatus.GENERATING))
        .values(provider=provider, provider_job_id=job_id)
        .returning(m.Clip.id)
    )
    return result.first() is not None


async def record_progress(session: AsyncSession, clip_id: uuid.UUID, generation: int, progress: float) -> bool:
    result = await session.execute(
        sa.update(m.Clip)
        .where(*_this_generation(clip_id, generation, m.ClipStatus.GENERATING))
        .values(progress=progress)
        .returning(m.Clip.id)
    )
    return result.first() is not None


async def succeed(session: AsyncSession, clip_id: uuid.UUID, generation: int, **outcome: Any) -> bool:
    """generating -> succeeded with ``outcome`` (video keys, provider, size...); ``False`` when
    the generation is no longer current (the caller then discards its files)."""
    result = await session.execute(
        sa.update(m.Clip)
        .where(*_this_generation(clip_id, generation, m.ClipStatus.GENERATING))
        .values(
            status=m.ClipStatus.SUCCEEDED, progress=1.0, finished_at=datetime.now(UTC),
            error_message=None, failure_detail=None, **outcome,
        )
        .returning(m.Clip.id)
    )
    return result.first() is not None


@dataclass(frozen=True)
class Failure:
    """A generation that failed for good: who to tell, and what was given back."""

    user_id: uuid.UUID | None
    visitor_id: uuid.UUID | None
    project_id: uuid.UUID | None
    generation: int
    progress: float
    refunded: int
    balance: int | None


async def fail(
    session: AsyncSession, clip_id: uuid.UUID, generation: int, message: str, *, detail: str | None = None
) -> Failure | None:
    """queued/generating -> failed, refunding what this generation cost, in the caller's
    transaction; ``None`` (nothing changed, nothing refunded) when the generation is no
    longer current or already finished."""
    row = (
        await session.execute(
            sa.update(m.Clip)
            .where(*_this_generation(clip_id, generation, *BUSY))
            .values(
                status=m.ClipStatus.FAILED, error_message=message, failure_detail=detail,
                finished_at=datetime.now(UTC),
            )
            .returning(
                m.Clip.user_id, m.Clip.visitor_id, m.Clip.project_id, m.Clip.charged_credits, m.Clip.progress
            )
        )
    ).one_or_none()
    if row is None:
        return None
    user_id, visitor_id, project_id, charged, progress = row
    refunded, balance = 0, None
    if user_id is not None and charged > 0:
        credits = CreditService(session)
        if await credits.refund_clip_generation(user_id, clip_id, generation, charged):
            refunded, balance = charged, await credits.balance(user_id)
    return Failure(
        user_id=user_id, visitor_id=visitor_id, project_id=project_id, generation=generation,
        progress=progress, refunded=refunded, balance=balance,
    )
