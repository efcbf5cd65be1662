"""``generate_clip``: photo -> provider -> normalised, stored clip, with its state in Postgres.

The job is idempotent: it returns at once for a clip that already succeeded (or was
deleted), and the final write is conditional, so two runs of the same job (a sweep re-enqueue
racing a slow first attempt) record one result and clean up the other's files.
"""

from __future__ import annotations

import asyncio
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
from api.domain.clips import lifecycle
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
            current = await lifecycle.record_progress(session, clip.id, clip.generation, progress)
            await session.commit()
        if not current:
            return
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
    photo = workdir / f"photo{Path(clip.photo_key).suffix}"
    await res.storage.download(clip.photo_key, photo)
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


def job_generation(job: Any) -> int:
    """The clip generation a ``generate_clip`` job was queued for (from its key for jobs
    queued before the generation travelled in the job's arguments)."""
    generation = job.kwargs.get("generation")
    return int(generation) if generation is not None else int(job.key.rsplit(":", 1)[-1])


async def generate_clip(ctx: dict[str, Any], *, clip_id: str, generation: int | None = None) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    job = ctx["job"]
    cid = uuid.UUID(clip_id)
    gen = generation if generation is not None else job_generation(job)
    bound = log.bind(clip_id=clip_id, generation=gen, job=job.key, attempt=job.attempts)

    async with res.session() as session:
        clip = await session.get(m.Clip, cid)
        if clip is None:
            bound.info("clip_gone")
            return {"skipped": "deleted"}
        attempt = await lifecycle.begin_attempt(session, cid, gen)
        if attempt is None:
            return {"skipped": f"generation {gen} is not current (clip is {clip.status.value}, generation {clip.generation})"}
        resume = None
        if attempt.provider and attempt.provider_job_id:
            resume = JobRef(provider=attempt.provider, job_id=attempt.provider_job_id)
        title = None
        if clip.project_id is not None:
            title = await session.scalar(sa.select(m.Project.title).where(m.Project.id == clip.project_id))
        snapshot = ClipSnapshot(
            id=clip.id, generation=gen,
            owner=owner_of(user_id=clip.user_id, visitor_id=clip.visitor_id),
            user_id=clip.user_id, project_id=clip.project_id, project_title=title,
            photo_key=clip.photo.storage_key,
            aspect=clip.aspect, seed=clip.seed, prompt=clip.prompt,
            intro_seconds=clip.intro_seconds, watermarked=clip.watermarked, resume=resume,
        )
        await session.commit()
    events = EventPublisher.from_queues(res.queues)
    await events.publish(
        snapshot.owner,
        ClipStatusEvent(
            clip_id=cid, project_id=snapshot.project_id, status=m.ClipStatus.GENERATING,
            progress=lifecycle.STARTED_PROGRESS,
        ),
    )

    submitted: list[JobRef] = []

    async def record_submission(ref: JobRef) -> None:
        submitted.append(ref)
        async with res.session() as session:
            await lifecycle.record_submission(session, cid, gen, provider=ref.provider, job_id=ref.job_id)
            await session.commit()

    started = time.perf_counter()
    video_key = new_key("clips", "clip.mp4")
    poster_key = new_key("clips", "poster.jpg")
    try:
        async with clip_progress(res, job, snapshot, events) as progress:
            with res.scratch.job_dir(f"clip-{cid}-{gen}") as workdir:
                made = await _make(res, snapshot, workdir, progress, record_submission)
                await res.storage.put_file(video_key, workdir / "clip.mp4", content_type="video/mp4")
                await res.storage.put_file(poster_key, workdir / "poster.jpg", content_type="image/jpeg")
    except ContentRefused as refusal:
        await mark_clip_failed(
            res, cid, refusal.user_message, detail=f"{refusal.provider}: {refusal.code}: {refusal}",
            generation=gen,
        )
        bound.info("clip_refused", provider=refusal.provider, code=refusal.code)
        return {"refused": refusal.code}
    except asyncio.CancelledError:
        # Deleted (or regenerated) while running: stop the provider's job too. A worker
        # shutting down leaves it running, to be resumed by the next attempt.
        if submitted and not await asyncio.shield(_still_wanted(res, cid, gen)):
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
        recorded = await lifecycle.succeed(
            session, cid, gen,
            provider=made.provider, provider_job_id=made.job_id, provider_cost=made.cost,
            video_key=video_key, poster_key=poster_key, duration_seconds=info.duration,
            width=info.width, height=info.height, generation_ms=elapsed_ms,
        )
        await session.commit()
    if not recorded:
        await res.storage.delete_many([video_key, poster_key])
        bound.info("clip_result_discarded")
        return {"skipped": "recorded by another run or no longer wanted"}
    await res.storage.delete_many([key for key in previous or () if key])
    await events.publish(
        snapshot.owner,
        ClipStatusEvent(clip_id=cid, project_id=snapshot.project_id, status=m.ClipStatus.SUCCEEDED, progress=1.0),
    )
    if snapshot.project_id is not None and snapshot.user_id is not None:
        await enqueue_push(
            res.queues, snapshot.user_id,
            clip_ready_notice(project_id=snapshot.project_id, project_title=snapshot.project_title or "your project"),
            key=f"clip:{cid}:{gen}:succeeded",
        )
    bound.info("clip_succeeded", provider=made.provider, ms=elapsed_ms, duration=info.duration)
    return {"clip_id": clip_id, "provider": made.provider, "ms": elapsed_ms}


async def mark_clip_failed(
    res: WorkerResources, clip_id: uuid.UUID, message: str, *, generation: int, detail: str | None = None,
) -> bool:
    """Record that ``generation`` of a clip failed for good and refund what it cost, once.

    A no-op for a generation that succeeded meanwhile or is no longer the clip's current one.
    The status change and the refund's ledger row commit together; the announcements follow.
    """
    async with res.session() as session:
        failure = await lifecycle.fail(session, clip_id, generation, message, detail=detail)
        if failure is None:
            return False
        title = None
        if failure.project_id is not None:
            title = await session.scalar(sa.select(m.Project.title).where(m.Project.id == failure.project_id))
        await session.commit()
    user_id = failure.user_id
    events = EventPublisher.from_queues(res.queues)
    await events.publish(
        owner_of(user_id=user_id, visitor_id=failure.visitor_id),
        ClipStatusEvent(
            clip_id=clip_id, project_id=failure.project_id, status=m.ClipStatus.FAILED,
            progress=failure.progress, error=message,
        ),
    )
    if failure.refunded and user_id is not None and failure.balance is not None:
        await events.publish(
            user_owner(user_id),
            CreditsChangedEvent(balance=failure.balance, delta=failure.refunded, kind=m.CreditKind.REFUND),
        )
    if failure.project_id is not None and user_id is not None:
        await enqueue_push(
            res.queues, user_id,
            clip_failed_notice(project_id=failure.project_id, project_title=title or "your project"),
            key=f"clip:{clip_id}:{generation}:failed",
        )
    log.warning(
        "clip_failed", clip_id=str(clip_id), generation=generation, refunded=failure.refunded,
        detail=(detail or "")[-300:],
    )
    return True


async def after_clip_job(ctx: dict[str, Any]) -> None:
    """SAQ ``after_process`` hook: a job that will not be retried again fails its generation
    of the clip (and only that one)."""
    job = ctx.get("job")
    if job is None or job.function != TaskName.GENERATE_CLIP or job.status != Status.FAILED:
        return
    clip_id = uuid.UUID(job.kwargs["clip_id"])
    await mark_clip_failed(ctx["resources"], clip_id, FAILED_FOR_GOOD, generation=job_generation(job), detail=job.error)


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
        keys = [
            key for clip, photo in rows
            for key in (clip.video_key, clip.poster_key, photo.storage_key, photo.thumbnail_key) if key
        ]
        for _, photo in rows:
            await session.delete(photo)
        await session.commit()
    await res.storage.delete_many(keys)
    if rows:
        log.info("free_tries_expired", count=len(rows))
    return {"expired": len(rows)}
