"""The worker side: publishing typed events to Redis, and throttling a job's progress."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest
from redis.asyncio import Redis

from api.db import models as m
from api.events import (
    PROGRESS_INTERVAL_SECONDS,
    STREAM_TTL_SECONDS,
    ClipProgressEvent,
    ClipStatusEvent,
    Event,
    EventPublisher,
    ProgressThrottle,
    decode_event,
    entry_order,
    owner_of,
    publish,
    stream_key,
    user_owner,
    visitor_owner,
)
from api.jobs import Queues


@pytest.fixture
async def publisher(redis_url: str, queue_prefix: str) -> AsyncIterator[EventPublisher]:
    queues = Queues(redis_url, prefix=queue_prefix)
    await queues.connect()
    yield EventPublisher.from_queues(queues)
    await queues.disconnect()


async def stored(redis: Redis, owner: str, prefix: str) -> list[tuple[int, object]]:
    """(milliseconds, event) of every entry in ``owner``'s stream."""
    entries = await redis.xrange(stream_key(owner, prefix=prefix))
    return [(entry_order(raw_id.decode())[0], decode_event(fields[b"data"])) for raw_id, fields in entries]


def clip_progress(clip_id: uuid.UUID, value: float) -> ClipProgressEvent:
    return ClipProgressEvent(clip_id=clip_id, project_id=None, progress=value)


def clip_done(clip_id: uuid.UUID) -> ClipStatusEvent:
    return ClipStatusEvent(clip_id=clip_id, project_id=None, status=m.ClipStatus.SUCCEEDED, progress=1.0)


async def test_a_published_event_is_stored_typed_in_the_owners_capped_expiring_stream(
    redis_url: str, queue_prefix: str, publisher: EventPublisher
) -> None:
    redis = Redis.from_url(redis_url)
    owner = user_owner(uuid.uuid4())
    clip = uuid.uuid4()
    try:
        entry_id = await publisher.publish(owner, clip_done(clip))
        assert entry_id is not None
        key = stream_key(owner, prefix=queue_prefix)
        (raw_id, fields), = await redis.xrange(key)
        assert raw_id.decode() == entry_id and fields[b"type"] == b"clip.status"
        assert decode_event(fields[b"data"]) == clip_done(clip)
        assert 0 < await redis.ttl(key) <= STREAM_TTL_SECONDS
    finally:
        await redis.aclose()


def test_a_claimed_free_try_belongs_to_the_user() -> None:
    user, visitor = uuid.uuid4(), uuid.uuid4()
    assert owner_of(user_id=user, visitor_id=visitor) == user_owner(user)
    assert owner_of(user_id=None, visitor_id=visitor) == visitor_owner(visitor)
    with pytest.raises(ValueError):
        owner_of(user_id=None, visitor_id=None)


async def test_publishing_when_redis_is_down_returns_none_instead_of_failing_the_job() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    try:
        assert await publish(unreachable, user_owner(uuid.uuid4()), clip_done(uuid.uuid4())) is None
    finally:
        await unreachable.aclose()


class Recorder:
    """A throttle's ``send``: notes when each event went out (before any await)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Event]] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.sent.append((time.monotonic(), event))
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_progress_is_sent_at_most_four_times_a_second_and_the_final_state_last() -> None:
    clip = uuid.uuid4()
    recorder = Recorder()
    async with ProgressThrottle(recorder) as throttle:
        for step in range(1, 101):
            await throttle.progress(clip_progress(clip, step / 100))
            await asyncio.sleep(0.01)
        await throttle.final(clip_done(clip))
    progress = [(at, e) for at, e in recorder.sent if isinstance(e, ClipProgressEvent)]
    assert recorder.sent[-1][1] == clip_done(clip)
    assert recorder.sent[0][1] == clip_progress(clip, 0.01), "the first report goes out at once"
    assert 3 <= len(progress) <= 1 + (100 * 0.01 * 1.5) / PROGRESS_INTERVAL_SECONDS
    gaps = [later - earlier for (earlier, _), (later, _) in pairwise(progress)]
    assert min(gaps) >= PROGRESS_INTERVAL_SECONDS - 0.001
    values = [e.progress for _, e in progress]
    assert values == sorted(values)


async def test_progress_held_back_is_sent_when_the_interval_ends() -> None:
    clip = uuid.uuid4()
    recorder = Recorder()
    async with ProgressThrottle(recorder) as throttle:
        for value in (0.1, 0.2, 0.3):
            await throttle.progress(clip_progress(clip, value))
        await recorder.wait_for(2)
    (first_at, first), (second_at, second) = recorder.sent
    assert (first.progress, second.progress) == (0.1, 0.3), "0.2 was superseded while held back"
    assert second_at - first_at >= PROGRESS_INTERVAL_SECONDS - 0.001


async def test_the_final_state_replaces_progress_still_held_back(
    redis_url: str, queue_prefix: str, publisher: EventPublisher
) -> None:
    redis = Redis.from_url(redis_url)
    owner, clip = user_owner(uuid.uuid4()), uuid.uuid4()
    try:
        throttle = publisher.throttle(owner)
        await throttle.progress(clip_progress(clip, 0.5))
        await throttle.progress(clip_progress(clip, 0.9))
        await throttle.final(clip_done(clip))
        await asyncio.sleep(PROGRESS_INTERVAL_SECONDS * 2)
        entries = [e for _, e in await stored(redis, owner, queue_prefix)]
    finally:
        await redis.aclose()
    assert entries == [clip_progress(clip, 0.5), clip_done(clip)]
