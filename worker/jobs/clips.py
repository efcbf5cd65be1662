"""``generate_clip``: photo -> provider -> normalised, stored clip, with its state in Postgres.

The job is idempotent: it returns at once for a clip that already succeeded (or was
deleted), and the final write is conditional, so two runs of the same job (a sweep re-enqueue
racing a slow first attempt) record one result and clean up the other's files.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
import structlog
from saq import Status

from api.db import models as m
from api.domain.credits.services import CreditService
from api.domain.push.services import clip_failed_notice, clip_ready_notice
from api.events import (
    ClipProgressEvent,
    ClipStatusEvent,
    CreditsChangedEvent,
    EventPublisher,
    owner_of,
    user_owner,
)
from api.jobs import (
    GENERATE_CLIP_POLICY,
    TaskName,
    enqueue_generate_clip,
    enqueue_push,
    generate_clip_job_alive,
)
from api.storage import new_key
from assembly.clipmaker import ClipInfo, finish_clip, make_local_clip
from worker.context import WorkerResources
from worker.progress import JobProgress
from worker.providers import ContentRefused, JobRef, MotionRequest

log = structlog.get_logger()

FAILED_FOR_GOOD = (
    "We could not animate this photo. Please try again in a few minutes, or with another photo."
)


def clip_progress(res: WorkerResources, job: Any, clip: ClipSnapshot, events: EventPublisher) -> JobProgress:
    """Progress of one generation: the clip row (while it is still this generation's) and a
    ``clip.progress`` event for its owner."""

    async def write(progress: float) -> None:
        async with res.session() as session:
            await session.execute(
                sa.update(m.Clip)
                .where(
                    m.Clip.id == clip.id,
                    m.Clip.generation == clip.generation,
                    m.Clip.status == m.ClipStatus.GENERATING,
                )
                .values(progress=progress)
            )
            await session.commit()
        await events.publish(
            clip.owner, ClipProgressEvent(clip_id=clip.id, project_id=clip.project_id, progress=progress)
        )

    return JobProgress(job, write)


class Made(msgspec.Struct, frozen=True):
    provider: str
    job_id: str
    cost: float | None
    info: ClipInfo


async def _make(
    res: WorkerResources, clip: ClipSnapshot, workdir: Path, progress: JobProgress,
    on_submitted: Any,
) -> Made:
    """Run the provider chain and bring its output into the stored clip format.

    With the local provider first in line (the embedded default) the animation, the intro
    and the watermark are made in one ffmpeg encode; any other provider's video is
    normalised by :func:`finish_clip`, which adds them.
    """
    out_video, out_poster = workdir / "clip.mp4", workdir / "poster.jpg"
    photo = res.storage.local_path(clip.photo_key)
    if res.settings.motion_providers[0] == "local":
        info = await make_local_clip(
            photo, out_video, out_poster, aspect=clip.aspect, seed=clip.seed,
            intro_seconds=clip.intro_seconds, watermark=clip.watermarked,
            duration=res.settings.clip_seconds, progress=progress.update,
        )
        return Made("local", f"local-{clip.id}-{clip.generation}", 0.0, info)
    request = MotionRequest(
        photo_path=photo, aspect=clip.aspect, duration=round(res.settings.clip_seconds),
        seed=clip.seed, prompt=clip.prompt,
    )
    result = await res.chain.generate(
        request, workdir / "provider.mp4",
        on_progress=lambda f: progress.update_async(f * 0.85),
        on_submitted=on_submitted, resume=clip.resume,
    )
    info = await finish_clip(
        result.path, out_video, out_poster, aspect=clip.aspect,
        intro_photo=photo if clip.intro_seconds else None, intro_seconds=clip.intro_seconds,
        watermark=clip.watermarked, duration=res.settings.clip_seconds,
        progress=lambda f: progress.update(0.85 + 0.14 * f),
    )
    return Made(result.provider, result.job_id, result.cost, info)


class ClipSnapshot(msgspec.Struct, frozen=True):
    id: uuid.UUID
    generation: int
    owner: str
    user_id: uuid.UUID | None
    project_id: uuid.UUID | None
    project_title: str | None
    photo_key: str
    aspect: str
    seed: int
    prompt: str | None
    intro_seconds: float
    watermarked: bool
    resume: JobRef | None


async def _still_wanted(res: WorkerResources, clip_id: uuid.UUID, generation: int) -> bool:
    async with res.session() as session:
        current = await session.scalar(sa.select(m.Clip.generation).where(m.Clip.id == clip_id))
    return current == generation


async def generate_clip(ctx: dict[str, Any], *, clip_id: str) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    job = ctx["job"]
    cid = uuid.UUID(clip_id)
    bound = log.bind(clip_id=clip_id, job=job.key, attempt=job.attempts)

    async with res.session() as session:
        clip = await session.get(m.Clip, cid)
        if clip is None:
            bound.info("clip_gone")
            return {"skipped": "deleted"}
        if clip.status not in (m.ClipStatus.QUEUED, m.ClipStatus.GENERATING):
            return {"skipped": f"clip is {clip.status.value}"}
        resume = None
        if clip.status == m.ClipStatus.GENERATING and clip.provider and clip.provider_job_id:
            resume = JobRef(provider=clip.provider, job_id=clip.provider_job_id)
        title = None
        if clip.project_id is not None:
            title = await session.scalar(sa.select(m.Project.title).where(m.Project.id == clip.project_id))
        snapshot = ClipSnapshot(
            id=clip.id, generation=clip.generation,
            owner=owner_of(user_id=clip.user_id, visitor_id=clip.visitor_id),
            user_id=clip.user_id, project_id=clip.project_id, project_title=title,
            photo_key=clip.photo.storage_key,
            aspect=clip.aspect, seed=clip.seed, prompt=clip.prompt,
            intro_seconds=clip.intro_seconds, watermarked=clip.watermarked, resume=resume,
        )
        clip.status = m.ClipStatus.GENERATING
        clip.started_at = datetime.now(UTC)
        clip.attempts += 1
        clip.progress = max(clip.progress, 0.02)
        clip.error_message = None
        await session.commit()
    events = EventPublisher.from_queues(res.queues)
    await events.publish(
        snapshot.owner,
        ClipStatusEvent(
            clip_id=cid, project_id=snapshot.project_id, status=m.ClipStatus.GENERATING, progress=0.02
        ),
    )

    submitted: list[JobRef] = []

    async def record_submission(ref: JobRef) -> None:
        submitted.append(ref)
        async with res.session() as session:
            await session.execute(
                sa.update(m.Clip)
                .where(m.Clip.id == cid, m.Clip.generation == snapshot.generation)
                .values(provider=ref.provider, provider_job_id=ref.job_id)
            )
            await session.commit()

    started = time.perf_counter()
    video_key = new_key("clips", "clip.mp4")
    poster_key = new_key("clips", "poster.jpg")
    try:
        async with clip_progress(res, job, snapshot, events) as progress:
            with tempfile.TemporaryDirectory(dir=res.scratch_dir) as tmp:
                made = await _make(res, snapshot, Path(tmp), progress, record_submission)
                res.storage.put_file(video_key, Path(tmp) / "clip.mp4")
                res.storage.put_file(poster_key, Path(tmp) / "poster.jpg")
    except ContentRefused as refusal:
        await mark_clip_failed(
            res, cid, refusal.user_message, detail=f"{refusal.provider}: {refusal.code}: {refusal}",
            generation=snapshot.generation,
        )
        bound.info("clip_refused", provider=refusal.provider, code=refusal.code)
        return {"refused": refusal.code}
    except asyncio.CancelledError:
        # Deleted (or regenerated) while running: stop the provider's job too. A worker
        # shutting down leaves it running, to be resumed by the next attempt.
        if submitted and not await asyncio.shield(_still_wanted(res, cid, snapshot.generation)):
            await asyncio.shield(res.chain.cancel(submitted[-1]))
        raise

    elapsed_ms = int((time.perf_counter() - started) * 1000)
    info = made.info
    async with res.session() as session:
        previous = (
            await session.execute(
                sa.select(m.Clip.video_key, m.Clip.poster_key).where(m.Clip.id == cid).with_for_update()
            )
        ).one_or_none()
        result = await session.execute(
            sa.update(m.Clip)
            .where(
                m.Clip.id == cid,
                m.Clip.generation == snapshot.generation,
                m.Clip.status == m.ClipStatus.GENERATING,
            )
            .values(
                status=m.ClipStatus.SUCCEEDED,
                progress=1.0,
                provider=made.provider,
                provider_job_id=made.job_id,
                provider_cost=made.cost,
                video_key=video_key,
                poster_key=poster_key,
                duration_seconds=info.duration,
                width=info.width,
                height=info.height,
                finished_at=datetime.now(UTC),
                generation_ms=elapsed_ms,
                error_message=None,
                failure_detail=None,
            )
            .returning(sa.literal(1))
        )
        recorded = result.first() is not None
        await session.commit()
    if not recorded:
        res.storage.delete(video_key)
        res.storage.delete(poster_key)
        bound.info("clip_result_discarded")
        return {"skipped": "recorded by another run or no longer wanted"}
    for old_key in previous or ():
        if old_key:
            res.storage.delete(old_key)
    await events.publish(
        snapshot.owner,
        ClipStatusEvent(clip_id=cid, project_id=snapshot.project_id, status=m.ClipStatus.SUCCEEDED, progress=1.0),
    )
    if snapshot.project_id is not None and snapshot.user_id is not None:
        await enqueue_push(
            res.queues, snapshot.user_id,
            clip_ready_notice(project_id=snapshot.project_id, project_title=snapshot.project_title or "your project"),
            key=f"clip:{cid}:{snapshot.generation}:succeeded",
        )
    bound.info("clip_succeeded", provider=made.provider, ms=elapsed_ms, duration=info.duration)
    return {"clip_id": clip_id, "provider": made.provider, "ms": elapsed_ms}


async def mark_clip_failed(
    res: WorkerResources, clip_id: uuid.UUID, message: str, *, detail: str | None = None,
    generation: int | None = None,
) -> bool:
    """Record a generation that failed for good and refund what it cost, once.

    A no-op for a clip that succeeded meanwhile (or moved on to a newer generation). The
    status change and the refund's ledger row commit together.
    """
    async with res.session() as session:
        conditions = [
            m.Clip.id == clip_id,
            m.Clip.status.in_((m.ClipStatus.QUEUED, m.ClipStatus.GENERATING)),
        ]
        if generation is not None:
            conditions.append(m.Clip.generation == generation)
        row = (
            await session.execute(
                sa.update(m.Clip)
                .where(*conditions)
                .values(
                    status=m.ClipStatus.FAILED, error_message=message, failure_detail=detail,
                    finished_at=datetime.now(UTC),
                )
                .returning(
                    m.Clip.user_id, m.Clip.visitor_id, m.Clip.project_id, m.Clip.generation,
                    m.Clip.charged_credits, m.Clip.progress,
                )
            )
        ).one_or_none()
        if row is None:
            await session.rollback()
            return False
        user_id, visitor_id, project_id, failed_generation, charged, progress = row
        refunded = False
        if user_id is not None and charged > 0:
            refunded = await CreditService(session).refund_clip_generation(
                user_id, clip_id, failed_generation, charged
            )
        balance = await CreditService(session).balance(user_id) if refunded and user_id else None
        title = None
        if project_id is not None:
            title = await session.scalar(sa.select(m.Project.title).where(m.Project.id == project_id))
        await session.commit()
    events = EventPublisher.from_queues(res.queues)
    await events.publish(
        owner_of(user_id=user_id, visitor_id=visitor_id),
        ClipStatusEvent(
            clip_id=clip_id, project_id=project_id, status=m.ClipStatus.FAILED, progress=progress, error=message
        ),
    )
    if refunded and user_id is not None and balance is not None:
        await events.publish(
            user_owner(user_id), CreditsChangedEvent(balance=balance, delta=charged, kind=m.CreditKind.REFUND)
        )
    if project_id is not None and user_id is not None:
        await enqueue_push(
            res.queues, user_id,
            clip_failed_notice(project_id=project_id, project_title=title or "your project"),
            key=f"clip:{clip_id}:{failed_generation}:failed",
        )
    log.warning("clip_failed", clip_id=str(clip_id), refunded=refunded, detail=(detail or "")[-300:])
    return True


async def after_clip_job(ctx: dict[str, Any]) -> None:
    """SAQ ``after_process`` hook: a job that will not be retried again fails its clip."""
    job = ctx.get("job")
    if job is None or job.function != TaskName.GENERATE_CLIP or job.status != Status.FAILED:
        return
    clip_id = uuid.UUID(job.kwargs["clip_id"])
    await mark_clip_failed(ctx["resources"], clip_id, FAILED_FOR_GOOD, detail=job.error)


async def sweep_stuck_clips(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: find clips whose job was lost (enqueue failed, a worker died and its job was
    swept away, Redis lost data) and queue them again — or fail them, with a refund, once
    they have had every attempt their policy allows."""
    res: WorkerResources = ctx["resources"]
    cutoff = datetime.now(UTC) - timedelta(minutes=1)
    async with res.session() as session:
        candidates = (
            await session.execute(
                sa.select(m.Clip.id, m.Clip.generation, m.Clip.attempts).where(
                    m.Clip.status.in_((m.ClipStatus.QUEUED, m.ClipStatus.GENERATING)),
                    sa.func.coalesce(m.Clip.started_at, m.Clip.queued_at) < cutoff,
                )
            )
        ).all()
    requeued = failed = 0
    for clip_id, generation, attempts in candidates:
        if await generate_clip_job_alive(res.queues, clip_id, generation):
            continue
        if attempts >= GENERATE_CLIP_POLICY.retries:
            await mark_clip_failed(
                res, clip_id, FAILED_FOR_GOOD, detail="job lost after its last attempt", generation=generation
            )
            failed += 1
        else:
            await enqueue_generate_clip(res.queues, clip_id, generation)
            requeued += 1
    if requeued or failed:
        log.info("swept_clips", requeued=requeued, failed=failed)
    return {"requeued": requeued, "failed": failed}


async def expire_free_tries(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: free-try clips, their photos and every stored file go after the window."""
    res: WorkerResources = ctx["resources"]
    cutoff = datetime.now(UTC) - timedelta(hours=res.settings.free_try_window_hours)
    async with res.session() as session:
        rows = (
            await session.execute(
                sa.select(m.Clip, m.Photo)
                .join(m.Photo, m.Clip.photo_id == m.Photo.id)
                .where(
                    m.Clip.kind == m.ClipKind.FREE_TRY,
                    m.Clip.user_id.is_(None),
                    m.Clip.created_at < cutoff,
                )
                .limit(500)
            )
        ).all()
        for clip, photo in rows:
            for key in (clip.video_key, clip.poster_key, photo.storage_key, photo.thumbnail_key):
                if key:
                    res.storage.delete(key)
            await session.delete(photo)
        await session.commit()
    if rows:
        log.info("free_tries_expired", count=len(rows))
    return {"expired": len(rows)}
