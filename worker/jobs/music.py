"""``transcode_music``: an uploaded track, stored raw by the request, becomes the stored AAC
file (or fails with a sentence for the person), on the ``default`` queue.

The job trusts nothing the request saw: it sniffs and probes the raw file again, then
transcodes it under the limits of ``MediaSafety`` (time, output size, concurrency per
process). The final write is conditional on the track still ``processing``, so a job that
runs twice, or a track deleted meanwhile, changes nothing. The raw upload is deleted and
the ``music.status`` event published only after that commit.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import sqlalchemy as sa
import structlog

from api.config import MediaSafety
from api.db import models as m
from api.domain.music.transcode import TranscodeFailed, Transcoder
from api.events import EventPublisher, MusicTrackStatusEvent, user_owner
from worker.context import WorkerResources

log = structlog.get_logger()

#: Shown when the job itself kept failing (storage or database), not the file.
GAVE_UP = "This track could not be prepared just now. Please upload it again."


@functools.cache
def _transcoder(safety: MediaSafety) -> Transcoder:
    """One per process and configuration, so the concurrency limit spans every job."""
    return Transcoder(safety)


async def transcode_music(ctx: dict[str, Any], *, track_id: str) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    job = ctx["job"]
    tid = uuid.UUID(track_id)
    bound = log.bind(track_id=track_id, attempt=job.attempts)
    async with res.session() as session:
        track = await session.get(m.MusicTrack, tid)
    if track is None or track.status != m.TrackStatus.PROCESSING or track.source_key is None:
        return {"skipped": "not processing"}
    user_id, source_key, storage_key = track.user_id, track.source_key, track.storage_key

    failure: str | None = None
    size = 0
    duration = track.duration_seconds
    try:
        with res.scratch.job_dir(f"music-{tid}") as workdir:
            raw, out = workdir / "upload", workdir / "track.m4a"
            await res.storage.download(source_key, raw)
            try:
                probe = await _transcoder(res.settings.media_safety).transcode(raw, out)
            except TranscodeFailed as exc:
                failure = str(exc)
            else:
                await res.storage.put_file(storage_key, out, content_type="audio/mp4")
                size, duration = out.stat().st_size, probe.duration
    except Exception:
        if job.retryable:
            raise
        bound.exception("music_transcode_gave_up")
        failure = GAVE_UP

    status = m.TrackStatus.FAILED if failure else m.TrackStatus.READY
    values: dict[str, Any] = {"status": status, "failure": failure, "source_key": None}
    if status == m.TrackStatus.READY:
        values |= {"size_bytes": size, "duration_seconds": duration}
    async with res.session() as session:
        result = await session.execute(
            sa.update(m.MusicTrack)
            .where(m.MusicTrack.id == tid, m.MusicTrack.status == m.TrackStatus.PROCESSING)
            .values(**values)
        )
        await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        if status == m.TrackStatus.READY:
            await res.storage.delete(storage_key)
        return {"skipped": "no longer processing"}

    await res.storage.delete(source_key)
    if user_id is not None:
        await EventPublisher.from_queues(res.queues).publish(
            user_owner(user_id), MusicTrackStatusEvent(track_id=tid, status=status, error=failure)
        )
    bound.info("music_transcoded", status=status.value, failure=failure)
    return {"status": status.value}
