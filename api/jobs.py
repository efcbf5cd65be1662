"""Job names, queues and the enqueue options every job needs.

The API enqueues and the worker runs; both import the names from here so a task is never
referred to by a scattered string. SAQ's defaults (10 s timeout, a single attempt) are wrong
for every job we have, so each enqueue helper sets key, timeout, retries, backoff and
heartbeat explicitly.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError
from saq import Queue, Status

from api.domain.push.schemas import PushNotice
from api.requestlog import current_request_id

log = structlog.get_logger()


class QueueName(enum.StrEnum):
    CLIPS = "clips"
    RENDERS = "renders"
    DEFAULT = "default"


class TaskName(enum.StrEnum):
    GENERATE_CLIP = "generate_clip"
    SWEEP_STUCK_CLIPS = "sweep_stuck_clips"
    SWEEP_STUCK_RENDERS = "sweep_stuck_renders"
    EXPIRE_FREE_TRIES = "expire_free_tries"
    SWEEP_ORPHAN_MEDIA = "sweep_orphan_media"
    RENDER_PROJECT = "render_project"
    SEND_PUSH = "send_push"
    DELIVER_PUSH = "deliver_push"
    TRANSCODE_MUSIC = "transcode_music"


@dataclass(frozen=True)
class JobPolicy:
    timeout: int
    retries: int
    retry_delay: float
    retry_backoff: float | bool
    heartbeat: int


GENERATE_CLIP_POLICY = JobPolicy(timeout=900, retries=4, retry_delay=2.0, retry_backoff=60.0, heartbeat=60)
RENDER_PROJECT_POLICY = JobPolicy(timeout=1800, retries=2, retry_delay=5.0, retry_backoff=60.0, heartbeat=120)
#: How often the render sweep queues a render again whose job was lost, before failing it.
RENDER_REQUEUE_LIMIT = 2
#: Looks up a user's devices and queues one delivery each: quick, retried briefly.
SEND_PUSH_POLICY = JobPolicy(timeout=60, retries=3, retry_delay=1.0, retry_backoff=30.0, heartbeat=0)
#: One push to one device (a 10 s request): retried with backoff for about 20 minutes in all;
#: a 429 waits for the push service's Retry-After instead.
DELIVER_PUSH_POLICY = JobPolicy(timeout=30, retries=8, retry_delay=2.0, retry_backoff=600.0, heartbeat=0)
#: One uploaded track to AAC: the transcode itself is capped by MUSIC_TRANSCODE_TIMEOUT_SECONDS,
#: the job's timeout also covers waiting for a transcode slot. Retried only for transient
#: failures (storage, database); a file that cannot be read fails the track at once.
TRANSCODE_MUSIC_POLICY = JobPolicy(timeout=900, retries=3, retry_delay=2.0, retry_backoff=60.0, heartbeat=0)


class Queues:
    """The SAQ queues of one process, by name; ``prefix`` isolates test runs."""

    def __init__(
        self, redis_url: str, *, prefix: str = "", clip_heartbeat: int | None = None,
        render_heartbeat: int | None = None,
    ) -> None:
        self.prefix = prefix
        self.clip_heartbeat = clip_heartbeat or GENERATE_CLIP_POLICY.heartbeat
        self.render_heartbeat = render_heartbeat or RENDER_PROJECT_POLICY.heartbeat
        self._queues = {
            name: Queue.from_url(redis_url, name=f"{prefix}{name.value}") for name in QueueName
        }

    def __getitem__(self, name: QueueName) -> Queue:
        return self._queues[name]

    def all(self) -> list[Queue]:
        return list(self._queues.values())

    async def connect(self) -> None:
        for queue in self._queues.values():
            await queue.connect()

    async def disconnect(self) -> None:
        for queue in self._queues.values():
            await queue.disconnect()


async def _enqueue(
    queues: Queues, queue: QueueName, task: TaskName, *, key: str, policy: JobPolicy,
    heartbeat: int | None = None, **kwargs: Any,
) -> Any:
    """Enqueue with every option SAQ's defaults get wrong for us set from ``policy``.

    The request id of the request that enqueues rides along in the job's metadata, so the
    worker's log lines for this job carry it too.
    """
    request_id = current_request_id.get()
    return await queues[queue].enqueue(
        task.value,
        meta={"request_id": request_id} if request_id else {},
        key=key,
        timeout=policy.timeout,
        retries=policy.retries,
        retry_delay=policy.retry_delay,
        retry_backoff=policy.retry_backoff,
        heartbeat=policy.heartbeat if heartbeat is None else heartbeat,
        ttl=3600,
        **kwargs,
    )


async def _abort(queues: Queues, queue: QueueName, key: str, reason: str) -> bool:
    job = await queues[queue].job(key)
    if job is None or job.status not in (Status.QUEUED, Status.ACTIVE):
        return False
    await job.abort(reason)
    return True


def clip_job_key(clip_id: uuid.UUID, generation: int) -> str:
    return f"clip:{clip_id}:{generation}"


async def enqueue_generate_clip(queues: Queues, clip_id: uuid.UUID, generation: int) -> None:
    """Queue one generation of a clip; a no-op while that generation is queued or running.

    The job carries its generation: it may only ever change that generation of the clip.
    """
    await _enqueue(
        queues, QueueName.CLIPS, TaskName.GENERATE_CLIP, key=clip_job_key(clip_id, generation),
        policy=GENERATE_CLIP_POLICY, heartbeat=queues.clip_heartbeat, clip_id=str(clip_id),
        generation=generation,
    )


async def generate_clip_job_alive(queues: Queues, clip_id: uuid.UUID, generation: int) -> bool:
    """Whether a job for this generation is waiting or running (not lost, not finished)."""
    job = await queues[QueueName.CLIPS].job(clip_job_key(clip_id, generation))
    return job is not None and job.status in (Status.NEW, Status.QUEUED, Status.ACTIVE, Status.ABORTING)


async def abort_generate_clip(queues: Queues, clip_id: uuid.UUID, generation: int, reason: str) -> bool:
    """Abort a queued or running generation (the worker then cancels the provider's job)."""
    return await _abort(queues, QueueName.CLIPS, clip_job_key(clip_id, generation), reason)


async def enqueue_push(
    queues: Queues, user_id: uuid.UUID, notice: PushNotice, *, key: str | None = None
) -> bool:
    """Queue ``notice`` for every device of ``user_id`` on the ``default`` queue.

    ``key`` names the occurrence (e.g. ``f"clip:{clip_id}:{generation}:succeeded"``) so that
    a job running twice does not queue it twice while the first is pending. Never raises
    for a Redis failure: a notification must not fail the job that announces something;
    returns whether the notice was queued.
    """
    job_key = f"push:{user_id}:{key or uuid.uuid4().hex}"
    try:
        job = await _enqueue(
            queues, QueueName.DEFAULT, TaskName.SEND_PUSH, key=job_key, policy=SEND_PUSH_POLICY,
            user_id=str(user_id), notice=msgspec.to_builtins(notice),
        )
    except (RedisError, OSError) as exc:
        log.warning("push_enqueue_failed", user_id=str(user_id), tag=notice.tag, error=str(exc))
        return False
    return job is not None


async def enqueue_deliver_push(
    queues: Queues, subscription_id: uuid.UUID, notice: PushNotice, *, occurrence: str
) -> None:
    """Queue one push to one device; ``occurrence`` is the ``send_push`` job's key."""
    await _enqueue(
        queues, QueueName.DEFAULT, TaskName.DELIVER_PUSH,
        key=f"push-deliver:{subscription_id}:{occurrence}", policy=DELIVER_PUSH_POLICY,
        subscription_id=str(subscription_id), notice=msgspec.to_builtins(notice),
    )


def render_job_key(render_id: uuid.UUID) -> str:
    return f"render:{render_id}"


async def enqueue_render_project(queues: Queues, render_id: uuid.UUID) -> None:
    await _enqueue(
        queues, QueueName.RENDERS, TaskName.RENDER_PROJECT, key=render_job_key(render_id),
        policy=RENDER_PROJECT_POLICY, heartbeat=queues.render_heartbeat, render_id=str(render_id),
    )


async def render_job_alive(queues: Queues, render_id: uuid.UUID) -> bool:
    """Whether the render's job is waiting or running (not lost, not finished)."""
    job = await queues[QueueName.RENDERS].job(render_job_key(render_id))
    return job is not None and job.status in (Status.NEW, Status.QUEUED, Status.ACTIVE, Status.ABORTING)


async def abort_render_project(queues: Queues, render_id: uuid.UUID, reason: str) -> bool:
    return await _abort(queues, QueueName.RENDERS, render_job_key(render_id), reason)


async def enqueue_transcode_music(queues: Queues, track_id: uuid.UUID) -> None:
    """Queue the transcode of an uploaded track on the ``default`` queue (once per track)."""
    await _enqueue(
        queues, QueueName.DEFAULT, TaskName.TRANSCODE_MUSIC, key=f"music:{track_id}",
        policy=TRANSCODE_MUSIC_POLICY, track_id=str(track_id),
    )
