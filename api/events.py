"""Live status events: typed, published by workers to Redis, read by the API for its streams.

Every change a person would want to see without reloading (a clip queued, generating, its
progress, done or failed; a render's progress and outcome; the credit balance) is an
:class:`Event`, a msgspec Struct whose tag is the Server-Sent Events ``event:`` name and
whose JSON (camelCase) is the ``data:``.

Each owner (``user:<uuid>`` or ``visitor:<uuid>`` for a free try) has one Redis stream,
``<prefix>events:<owner>``, capped at about :data:`STREAM_MAXLEN` entries and expiring
after a week of silence. A stream entry id is the SSE event id, so a browser that
reconnects with ``Last-Event-ID`` gets exactly the entries it missed.

Events are a notification, not the record: Postgres holds the state and the REST endpoints
stay the fallback. Publishing therefore never fails the job that publishes: a Redis error
is logged and swallowed.

Each event is also appended, with its owner and id, to one capped feed stream
(``<prefix>events:feed``) in the same Lua script. Reading side: one :class:`EventHub` per
API process follows that feed with a single blocking ``XREAD`` and fans entries out to
per-connection queues, so 500 open streams cost one blocking Redis connection rather than
500, and a read costs the same however many streams are open. A reconnecting client's
backlog comes from its own stream (``XRANGE`` after ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import NoScriptError, RedisError

from api.db import models as m
from api.jobs import QueueName, Queues

log = structlog.get_logger()

#: Entries kept per owner (``XADD … MAXLEN ~``: Redis trims in whole nodes, so a few more).
STREAM_MAXLEN = 500
#: A stream nobody has published to for this long is dropped.
STREAM_TTL_SECONDS = 7 * 24 * 3600
#: Entries kept in the feed all API processes follow (they read it within milliseconds).
FEED_MAXLEN = 2000
#: Progress events per job are sent at most this often (the final state always goes out).
PROGRESS_INTERVAL_SECONDS = 0.25
#: How long a browser waits before reconnecting after the stream drops.
SSE_RETRY_MILLISECONDS = 3000

# --------------------------------------------------------------------------- event types


class Event(msgspec.Struct, kw_only=True, frozen=True, rename="camel", tag_field="type"):
    """Base of every event; a subclass's ``tag`` is its SSE event name."""

    @property
    def event_type(self) -> str:
        return str(type(self).__struct_config__.tag)


class ClipStatusEvent(Event, tag="clip.status"):
    """A clip changed state. ``projectId`` is null for a free try; ``error`` is the sentence
    to show when it failed. The video and poster URLs are fetched through the API."""

    clip_id: uuid.UUID
    project_id: uuid.UUID | None
    status: m.ClipStatus
    progress: float
    error: str | None = None


class ClipProgressEvent(Event, tag="clip.progress"):
    clip_id: uuid.UUID
    project_id: uuid.UUID | None
    progress: float


class RenderStatusEvent(Event, tag="render.status"):
    render_id: uuid.UUID
    project_id: uuid.UUID
    status: m.RenderStatus
    progress: float
    error: str | None = None


class RenderProgressEvent(Event, tag="render.progress"):
    render_id: uuid.UUID
    project_id: uuid.UUID
    progress: float


class CreditsChangedEvent(Event, tag="credits.changed"):
    """The balance after a ledger row; ``delta`` is that row's amount (negative when spent)."""

    balance: int
    delta: int
    kind: m.CreditKind

    @classmethod
    def from_transaction(cls, row: m.CreditTransaction) -> CreditsChangedEvent:
        return cls(balance=row.balance_after, delta=row.amount, kind=row.kind)


class MusicTrackStatusEvent(Event, tag="music.status"):
    """An uploaded track finished processing: ``ready`` to use, or ``failed`` with ``error``
    (the sentence to show)."""

    track_id: uuid.UUID
    status: m.TrackStatus
    error: str | None = None


class StreamResetEvent(Event, tag="stream.reset"):
    """Sent instead of a backlog the stream no longer holds (the client was away for longer
    than the last :data:`STREAM_MAXLEN` events): reload the state over the REST API."""


ServerEvent = (
    ClipStatusEvent
    | ClipProgressEvent
    | RenderStatusEvent
    | RenderProgressEvent
    | CreditsChangedEvent
    | MusicTrackStatusEvent
    | StreamResetEvent
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ServerEvent)


def decode_event(data: bytes | str) -> ServerEvent:
    return _decoder.decode(data)


# --------------------------------------------------------------------------- owners and keys


def user_owner(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def visitor_owner(visitor_id: uuid.UUID) -> str:
    return f"visitor:{visitor_id}"


def owner_of(*, user_id: uuid.UUID | None, visitor_id: uuid.UUID | None) -> str:
    """The owner of something that belongs to a user or, before sign-up, to a visitor
    (a claimed free-try clip has both: the user wins)."""
    if user_id is not None:
        return user_owner(user_id)
    if visitor_id is not None:
        return visitor_owner(visitor_id)
    raise ValueError("an event needs a user or a visitor to belong to")


def stream_key(owner: str, *, prefix: str = "") -> str:
    return f"{prefix}events:{owner}"


def feed_key(*, prefix: str = "") -> str:
    """The stream every event is also appended to, which each API process follows."""
    return f"{prefix}events:feed"


# --------------------------------------------------------------------------- publishing


#: Appends to the owner's stream, then copies the entry (with its id and owner) to the feed,
#: atomically, so the feed and the owner's stream never disagree about an event's id.
_PUBLISH_LUA = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'owner', ARGV[6], 'id', id, 'type', ARGV[3], 'data', ARGV[4])
return id
"""
_PUBLISH_SHA = hashlib.sha1(_PUBLISH_LUA.encode()).hexdigest()


async def publish(
    redis: Redis, owner: str, event: Event, *, prefix: str = "", maxlen: int = STREAM_MAXLEN
) -> str | None:
    """Append ``event`` to ``owner``'s stream (and the feed); the entry id, or ``None`` if
    Redis failed."""
    keys = (stream_key(owner, prefix=prefix), feed_key(prefix=prefix))
    args = (maxlen, STREAM_TTL_SECONDS, event.event_type, _encoder.encode(event), FEED_MAXLEN, owner)
    try:
        try:
            entry_id = await redis.evalsha(_PUBLISH_SHA, 2, *keys, *args)
        except NoScriptError:
            entry_id = await redis.eval(_PUBLISH_LUA, 2, *keys, *args)
    except (RedisError, OSError) as exc:
        log.warning("event_publish_failed", owner=owner, event_type=event.event_type, error=str(exc))
        return None
    return _text(entry_id)


class EventPublisher:
    """``publish`` bound to one Redis client and key prefix, for a worker process."""

    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self.redis = redis
        self.prefix = prefix

    @classmethod
    def from_queues(cls, queues: Queues) -> EventPublisher:
        """Publish over the Redis connection pool the worker's queues already hold."""
        return cls(queues[QueueName.DEFAULT].redis, prefix=queues.prefix)  # type: ignore[attr-defined]

    async def publish(self, owner: str, event: Event) -> str | None:
        return await publish(self.redis, owner, event, prefix=self.prefix)

    def throttle(self, owner: str, *, interval: float = PROGRESS_INTERVAL_SECONDS) -> ProgressThrottle:
        return ProgressThrottle(lambda event: self.publish(owner, event), interval=interval)


class ProgressThrottle:
    """Rate-limits one job's progress events; its final event always goes out, last.

    :meth:`progress` sends at once when the previous send is at least ``interval`` ago;
    otherwise it holds the event back, and the latest held-back one is sent when the
    interval ends, so a job that stalls right after a burst still shows where it stopped.
    :meth:`final` drops whatever is held back and sends the final state, after any progress
    already on its way. Use it as an async context manager so a pending send never outlives
    the job::

        async with publisher.throttle(owner) as progress:
            ...
            await progress.progress(ClipProgressEvent(...))
            ...
            await progress.final(ClipStatusEvent(..., status=m.ClipStatus.SUCCEEDED))
    """

    def __init__(
        self,
        send: Callable[[Event], Awaitable[Any]],
        *,
        interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        self._send = send
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last_sent = float("-inf")
        self._pending: Event | None = None
        self._flush: asyncio.Task[None] | None = None

    async def progress(self, event: Event) -> None:
        async with self._lock:
            wait = self._last_sent + self.interval - time.monotonic()
            if wait <= 0 and self._flush is None:
                await self._send_now(event)
                return
            self._pending = event
            if self._flush is None:
                self._flush = asyncio.create_task(self._flush_later(max(wait, 0.0)))

    async def final(self, event: Event) -> None:
        async with self._lock:
            self._drop_pending()
            await self._send_now(event)

    async def aclose(self) -> None:
        async with self._lock:
            self._drop_pending()

    async def __aenter__(self) -> ProgressThrottle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send_now(self, event: Event) -> None:
        self._last_sent = time.monotonic()
        await self._send(event)

    def _drop_pending(self) -> None:
        """Called with the lock held, so the flush task is asleep or queued for the lock,
        never halfway through a send."""
        self._pending = None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lock:
            self._flush = None
            event, self._pending = self._pending, None
            if event is not None:
                await self._send_now(event)


# --------------------------------------------------------------------------- reading


class StreamEntry(NamedTuple):
    id: str
    type: str
    data: bytes

    def frame(self) -> bytes:
        """The entry as one SSE message (msgspec JSON never contains a newline)."""
        return b"id: %s\nevent: %s\ndata: %s\n\n" % (self.id.encode(), self.type.encode(), self.data)


def entry_order(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def is_entry_id(value: str) -> bool:
    millis, dash, seq = value.partition("-")
    return bool(dash) and millis.isdigit() and seq.isdigit() and len(value) <= 41


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(raw_id: bytes, fields: dict[bytes, bytes]) -> StreamEntry:
    return StreamEntry(raw_id.decode(), fields[b"type"].decode(), fields[b"data"])


class _Closed:
    """Put in a listener's queue when it must stop: the hub closed, or it fell behind."""


@dataclass(eq=False)
class Listener:
    """One open stream's view of the hub: batches of entries, in stream order."""

    owner: str
    queue: asyncio.Queue[list[StreamEntry] | _Closed]


class EventHub:
    """Follows the event feed for everyone connected to this API process.

    One task runs a blocking ``XREAD`` on the feed (every event, with its owner), on a
    connection of its own, and puts each owner's entries in the queues of that owner's
    listeners; entries for owners nobody here listens to are skipped. The cost of a read
    does not grow with the number of open streams, and a new listener needs no Redis call
    to start receiving. A listener that falls behind by more than ``buffer`` batches is
    closed (its browser reconnects with ``Last-Event-ID`` and catches up from its stream),
    so a slow client cannot grow memory. While Redis is unreachable the reader retries from
    the same position, so nothing published is skipped; only if that position is gone when
    Redis is back (trimmed during a long outage, or lost in a restart) are all listeners
    closed the same way, to catch up from their own streams.
    """

    READ_COUNT = 500

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "",
        block_ms: int = 5000,
        pool_size: int = 16,
        buffer: int = 256,
    ) -> None:
        self.prefix = prefix
        self.pool_size = pool_size
        self.block_ms = block_ms
        self.buffer = buffer
        self.client_name = f"{prefix}echoes-events"
        self._feed = feed_key(prefix=prefix)
        self._reader = Redis.from_url(redis_url, single_connection_client=True, client_name=self.client_name)
        self._redis = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                redis_url, max_connections=pool_size, timeout=10, client_name=self.client_name
            )
        )
        self._cursor = "0-0"
        self._listeners: dict[str, set[Listener]] = {}
        self._task: asyncio.Task[None] | None = None

    # lifecycle

    async def start(self) -> None:
        self._cursor = await self._latest_id(self._feed)
        self._task = asyncio.create_task(self._run(), name="event-hub-reader")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._close_all()
        await self._reader.aclose()
        await self._redis.aclose()

    # what an SSE connection uses

    @contextlib.contextmanager
    def listen(self, owner: str) -> Iterator[Listener]:
        """Receive ``owner``'s new entries for the duration of the ``with`` block.

        Every entry the reader handles from now on reaches the listener; anything older is
        in the owner's stream, which the caller reads (``entries_after``) after this.
        """
        listener = Listener(owner=owner, queue=asyncio.Queue(self.buffer))
        self._listeners.setdefault(owner, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._listeners.get(owner)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[owner]

    async def latest_id(self, owner: str) -> str:
        """The newest entry id in ``owner``'s stream, ``0-0`` when it holds none."""
        return await self._latest_id(stream_key(owner, prefix=self.prefix))

    async def entries_after(self, owner: str, after: str) -> list[StreamEntry] | None:
        """Every entry newer than ``after``, oldest first; ``None`` when ``after`` is no longer
        in the stream (trimmed away or expired), so what came after it cannot be told."""
        key = stream_key(owner, prefix=self.prefix)
        if after == "0-0":
            start, found_after = "-", True
        else:
            start, found_after = after, False
        entries: list[StreamEntry] = []
        while True:
            page = await self._redis.xrange(key, min=start, max="+", count=STREAM_MAXLEN)
            batch = [_entry(raw_id, fields) for raw_id, fields in page]
            if not found_after:
                if not batch or batch[0].id != after:
                    return None
                found_after = True
                batch = batch[1:]
            entries.extend(batch)
            if len(page) < STREAM_MAXLEN:
                return entries
            start = "(" + _text(page[-1][0])

    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    # internals

    async def _feed_holds(self, entry_id: str) -> bool:
        """Whether reading on from ``entry_id`` misses nothing: the entry is still in the
        feed (not trimmed away during an outage, not lost by a Redis restart)."""
        return entry_id == "0-0" or bool(await self._redis.xrange(self._feed, min=entry_id, max=entry_id))

    async def _latest_id(self, key: str) -> str:
        newest = await self._redis.xrevrange(key, max="+", min="-", count=1)
        return _text(newest[0][0]) if newest else "0-0"

    @staticmethod
    def _close_listener(listener: Listener) -> None:
        while not listener.queue.empty():
            listener.queue.get_nowait()
        listener.queue.put_nowait(_Closed())

    def _close_all(self) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                self._close_listener(listener)
        self._listeners.clear()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                if failures and not await self._feed_holds(self._cursor):
                    log.warning("event_feed_position_lost", cursor=self._cursor, listeners=self.listener_count())
                    self._cursor = await self._latest_id(self._feed)
                    self._close_all()
                response = await self._reader.xread({self._feed: self._cursor}, count=self.READ_COUNT, block=self.block_ms)
            except (RedisError, OSError) as exc:
                failures += 1
                log.warning("event_feed_read_failed", error=str(exc), failures=failures, listeners=self.listener_count())
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))
                continue
            failures = 0
            for _key, raw_entries in response or ():
                self._cursor = _text(raw_entries[-1][0])
                self._dispatch(raw_entries)

    def _dispatch(self, raw_entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        by_owner: dict[str, list[StreamEntry]] = {}
        for _feed_id, fields in raw_entries:
            owner = fields[b"owner"].decode()
            if owner in self._listeners:
                by_owner.setdefault(owner, []).append(
                    StreamEntry(fields[b"id"].decode(), fields[b"type"].decode(), fields[b"data"])
                )
        for owner, entries in by_owner.items():
            for listener in list(self._listeners.get(owner, ())):
                try:
                    listener.queue.put_nowait(entries)
                except asyncio.QueueFull:
                    log.warning("event_listener_fell_behind", owner=owner)
                    self._close_listener(listener)


async def sse_stream(
    hub: EventHub, owner: str, *, last_event_id: str | None, heartbeat: float
) -> AsyncIterator[bytes]:
    """The Server-Sent Events body for one connection of ``owner``.

    Opens with ``retry:`` and, for a new connection, an ``id:``-only message carrying the
    stream's newest id: it fires no event but sets the browser's last event id, so even a
    connection that saw no events resumes from the right place. With ``last_event_id`` it
    first replays every entry after it (or a ``stream.reset`` when those are gone), then
    follows live entries, skipping any already sent. A comment line goes out after
    ``heartbeat`` seconds of silence so proxies keep the connection open. Leaving the
    ``async for`` (the client went away, the hub closed) unregisters the listener.
    """
    yield b"retry: %d\n\n" % SSE_RETRY_MILLISECONDS
    with hub.listen(owner) as listener:
        after = last_event_id
        if after is not None:
            backlog = await hub.entries_after(owner, after)
            if backlog is None:
                after = await hub.latest_id(owner)
                reset = StreamResetEvent()
                yield StreamEntry(after, reset.event_type, _encoder.encode(reset)).frame()
            else:
                for entry in backlog:
                    yield entry.frame()
                    after = entry.id
        else:
            after = await hub.latest_id(owner)
            yield b"id: %s\n\n" % after.encode()
        newest = entry_order(after)
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    batch = await listener.queue.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if isinstance(batch, _Closed):
                return
            for entry in batch:
                order = entry_order(entry.id)
                if order > newest:
                    newest = order
                    yield entry.frame()
