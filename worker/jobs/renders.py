"""``render_project``: a project's clips, music and style -> one MP4 and its poster.

The render's state lives in the ``renders`` row. The job snapshots the project when it
starts (clips in order, music, style) so edits made meanwhile apply to the next render, and
writes its result with a conditional update, so a cancelled render stays cancelled and a
job that runs twice records one video.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from saq import Status

from api.db import models as m
from api.domain.push.services import video_failed_notice, video_ready_notice
from api.events import EventPublisher, RenderProgressEvent, RenderStatusEvent, user_owner
from api.jobs import (
    RENDER_REQUEUE_LIMIT,
    TaskName,
    enqueue_push,
    enqueue_render_project,
    render_job_alive,
)
from api.storage import new_key
from assembly.encoding import size_for_aspect
from assembly.runner import render
from assembly.timeline import (
    Clip,
    Music,
    Timeline,
    TitleCard,
    Transition,
    TransitionKind,
    Watermark,
)
from assembly.watermark import render_watermark_png
from worker.context import WorkerResources
from worker.progress import JobProgress

log = structlog.get_logger()

TRANSITIONS = {
    "cut": TransitionKind.CUT,
    "crossfade": TransitionKind.CROSSFADE,
    "fade_black": TransitionKind.FADE_THROUGH_BLACK,
    "slide": TransitionKind.SLIDE,
    "wipe": TransitionKind.WIPE,
}
RENDER_LOST = (
    "We could not finish your video: the machine making it stopped. Please try again."
)
RENDER_FAILED = (
    "We could not make your video this time. Please try again; if it keeps failing, "
    "try another transition or music track."
)


class RenderRejected(Exception):
    """The project cannot be rendered as it is; the message says what to change."""


async def _timeline(
    res: WorkerResources, session: Any, render_row: m.Render, workdir: Path
) -> tuple[Timeline, bool]:
    project = await session.get(m.Project, render_row.project_id)
    if project is None:
        raise RenderRejected("This project no longer exists.")
    clips = list(
        await session.scalars(
            sa.select(m.Clip).where(m.Clip.project_id == project.id).order_by(m.Clip.position)
        )
    )
    ready = [c for c in clips if c.status == m.ClipStatus.SUCCEEDED and c.video_key]
    if not ready or len(ready) != len(clips):
        raise RenderRejected("Some clips are not ready any more. Make sure every clip is finished, then try again.")
    width, height = size_for_aspect(project.aspect)
    music = None
    if project.music_track_id is not None:
        track = await session.get(m.MusicTrack, project.music_track_id)
        if track is not None:
            track_file = workdir / f"music{Path(track.storage_key).suffix}"
            await res.storage.download(track.storage_key, track_file)
            music = Music(
                path=str(track_file),
                start=project.music_start_offset,
                volume=project.music_volume,
                fade_in=0.5,
                fade_out=2.0,
            )
    watermark = None
    if render_row.watermarked:
        png = workdir / "watermark.png"
        png.write_bytes(render_watermark_png(width, height))
        watermark = Watermark(path=str(png))
    kind = TRANSITIONS.get(project.transition_kind, TransitionKind.CROSSFADE)
    inputs = []
    for index, c in enumerate(ready):
        clip_file = workdir / f"input-{index}.mp4"
        await res.storage.download(c.video_key, clip_file)  # type: ignore[arg-type]
        inputs.append(Clip(path=str(clip_file), caption=c.caption))
    timeline = Timeline(
        clips=inputs,
        width=width,
        height=height,
        fps=24,
        transition=Transition(kind=kind, duration=0.0 if kind == TransitionKind.CUT else project.transition_duration),
        title=TitleCard(text=project.title_card) if project.title_card else None,
        music=music,
        watermark=watermark,
    )
    return timeline, project.beat_sync and music is not None


async def render_project(ctx: dict[str, Any], *, render_id: str) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    job = ctx["job"]
    rid = uuid.UUID(render_id)
    bound = log.bind(render_id=render_id, attempt=job.attempts)
    with res.scratch.job_dir(f"render-{rid}") as workdir:
        async with res.session() as session:
            row = await session.get(m.Render, rid)
            if row is None or row.status not in m.ACTIVE_RENDER_STATUSES:
                return {"skipped": "not active"}
            try:
                timeline, beat_sync = await _timeline(res, session, row, workdir)
            except (RenderRejected, ValueError) as exc:
                await _finish_failed(res, rid, str(exc) if isinstance(exc, RenderRejected) else RENDER_FAILED, repr(exc))
                return {"rejected": str(exc)}
            row.status = m.RenderStatus.RENDERING
            row.started_at = datetime.now(UTC)
            row.progress = 0.01
            project_id, user_id, title = row.project_id, row.user_id, row.title
            await session.commit()
        events = EventPublisher.from_queues(res.queues)
        owner = user_owner(user_id)
        await events.publish(
            owner, RenderStatusEvent(render_id=rid, project_id=project_id, status=m.RenderStatus.RENDERING, progress=0.01)
        )

        async def write_progress(progress: float) -> None:
            async with res.session() as session:
                await session.execute(
                    sa.update(m.Render)
                    .where(m.Render.id == rid, m.Render.status == m.RenderStatus.RENDERING)
                    .values(progress=progress)
                )
                await session.commit()
            await events.publish(
                owner, RenderProgressEvent(render_id=rid, project_id=project_id, progress=progress)
            )

        out, poster = workdir / "video.mp4", workdir / "poster.jpg"
        try:
            async with JobProgress(job, write_progress, start=0.01) as progress:
                result = await render(
                    timeline, out, poster=poster, progress=progress.update, beat_sync=beat_sync,
                    workdir=workdir,
                )
        except ValueError as exc:
            await _finish_failed(res, rid, _explain(exc), repr(exc))
            return {"rejected": str(exc)}

        video_key = new_key("renders", "video.mp4")
        poster_key = new_key("renders", "poster.jpg")
        await res.storage.put_file(video_key, out, content_type="video/mp4")
        await res.storage.put_file(poster_key, poster, content_type="image/jpeg")
        size = out.stat().st_size
    async with res.session() as session:
        updated = await session.execute(
            sa.update(m.Render)
            .where(m.Render.id == rid, m.Render.status == m.RenderStatus.RENDERING)
            .values(
                status=m.RenderStatus.SUCCEEDED, progress=1.0, mode=result.mode.value,
                video_key=video_key, poster_key=poster_key, duration_seconds=result.duration,
                width=timeline.width, height=timeline.height, size_bytes=size,
                render_seconds=round(result.seconds, 3), finished_at=datetime.now(UTC),
                error_message=None, failure_detail=None,
            )
            .returning(sa.literal(1))
        )
        recorded = updated.first() is not None
        await session.commit()
    if not recorded:
        await res.storage.delete_many([video_key, poster_key])
        return {"skipped": "cancelled meanwhile"}
    await events.publish(
        owner, RenderStatusEvent(render_id=rid, project_id=project_id, status=m.RenderStatus.SUCCEEDED, progress=1.0)
    )
    await enqueue_push(
        res.queues, user_id, video_ready_notice(project_id=project_id, project_title=title),
        key=f"render:{rid}:succeeded",
    )
    bound.info("render_succeeded", mode=result.mode.value, seconds=round(result.seconds, 2), duration=result.duration)
    return {"render_id": render_id, "mode": result.mode.value, "seconds": result.seconds}


def _explain(exc: ValueError) -> str:
    text = str(exc)
    if "too short" in text:
        return (
            "Some clips are too short for the transition you chose. Pick a shorter transition "
            "(or a cut) and try again."
        )
    return RENDER_FAILED


async def _finish_failed(res: WorkerResources, render_id: uuid.UUID, message: str, detail: str | None) -> bool:
    async with res.session() as session:
        row = (
            await session.execute(
                sa.update(m.Render)
                .where(m.Render.id == render_id, m.Render.status.in_(m.ACTIVE_RENDER_STATUSES))
                .values(
                    status=m.RenderStatus.FAILED, error_message=message,
                    failure_detail=(detail or "")[-4000:] or None, finished_at=datetime.now(UTC),
                )
                .returning(m.Render.project_id, m.Render.user_id, m.Render.title, m.Render.progress)
            )
        ).one_or_none()
        await session.commit()
    if row is None:
        return False
    project_id, user_id, title, progress = row
    log.warning("render_failed", render_id=str(render_id), detail=(detail or "")[-300:])
    await EventPublisher.from_queues(res.queues).publish(
        user_owner(user_id),
        RenderStatusEvent(
            render_id=render_id, project_id=project_id, status=m.RenderStatus.FAILED, progress=progress, error=message
        ),
    )
    await enqueue_push(
        res.queues, user_id, video_failed_notice(project_id=project_id, project_title=title),
        key=f"render:{render_id}:failed",
    )
    return True


async def after_render_job(ctx: dict[str, Any]) -> None:
    """SAQ ``after_process`` hook: the last failed attempt fails the render; an abort cancels it."""
    job = ctx.get("job")
    if job is None or job.function != TaskName.RENDER_PROJECT:
        return
    render_id = uuid.UUID(job.kwargs["render_id"])
    if job.status == Status.FAILED:
        exc = ctx.get("exception")
        detail = job.error or (repr(exc) if exc else None)
        await _finish_failed(ctx["resources"], render_id, RENDER_FAILED, detail)
    elif job.status == Status.ABORTED:
        res: WorkerResources = ctx["resources"]
        async with res.session() as session:
            row = (
                await session.execute(
                    sa.update(m.Render)
                    .where(m.Render.id == render_id, m.Render.status.in_(m.ACTIVE_RENDER_STATUSES))
                    .values(status=m.RenderStatus.CANCELLED, finished_at=datetime.now(UTC))
                    .returning(m.Render.project_id, m.Render.user_id, m.Render.progress)
                )
            ).one_or_none()
            await session.commit()
        if row is not None:
            await EventPublisher.from_queues(res.queues).publish(
                user_owner(row.user_id),
                RenderStatusEvent(
                    render_id=render_id, project_id=row.project_id, status=m.RenderStatus.CANCELLED,
                    progress=row.progress,
                ),
            )



async def sweep_stuck_renders(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: an active render whose job is gone (never queued, a worker killed while it ran
    and its job swept away as failed or aborted, Redis lost data) would block its project
    for good. Queue it again, at most ``RENDER_REQUEUE_LIMIT`` times, then fail it with a
    message. Renders cost no credits, so neither path charges or refunds anything."""
    res: WorkerResources = ctx["resources"]
    cutoff = datetime.now(UTC) - timedelta(minutes=1)
    async with res.session() as session:
        candidates = (
            await session.execute(
                sa.select(m.Render.id, m.Render.requeues).where(
                    m.Render.status.in_(m.ACTIVE_RENDER_STATUSES),
                    sa.func.coalesce(m.Render.started_at, m.Render.created_at) < cutoff,
                )
            )
        ).all()
    requeued = failed = 0
    for render_id, requeues in candidates:
        if await render_job_alive(res.queues, render_id):
            continue
        if requeues >= RENDER_REQUEUE_LIMIT:
            if await _finish_failed(res, render_id, RENDER_LOST, f"job lost {requeues + 1} times"):
                failed += 1
            continue
        async with res.session() as session:
            claimed = (
                await session.execute(
                    sa.update(m.Render)
                    .where(
                        m.Render.id == render_id,
                        m.Render.status.in_(m.ACTIVE_RENDER_STATUSES),
                        m.Render.requeues == requeues,
                    )
                    .values(requeues=requeues + 1)
                    .returning(m.Render.id)
                )
            ).first()
            await session.commit()
        if claimed is not None:
            await enqueue_render_project(res.queues, render_id)
            requeued += 1
    if requeued or failed:
        log.info("swept_renders", requeued=requeued, failed=failed)
    return {"requeued": requeued, "failed": failed}
