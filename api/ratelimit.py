"""Fixed-window rate limits in Redis, shared by every API process.

:data:`RULES` is the one table of the limits on actions that cost money or disk: which
setting holds each limit, the window it counts in, who it counts (an account, or the client's
network for anonymous routes) and the sentence a person gets when they reach it. Controllers
call :meth:`RateLimiter.check` with a rule's name at the top of the handler.
"""

from __future__ import annotations

import enum
import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from litestar import Request
from redis.asyncio import Redis

from api.config import RateLimits
from api.errors import RateLimited

#: IPv6 clients are counted per /64: one subscriber usually holds a whole /64 and can pick
#: any address in it, so counting single addresses would give them billions of buckets.
IPV6_NETWORK_PREFIX = 64


class Action(enum.StrEnum):
    CREATE_PROJECT = "create-project"
    UPLOAD_PHOTO = "upload-photo"
    GENERATE_CLIPS = "generate-clips"
    REGENERATE_CLIP = "regenerate-clip"
    RENDER_VIDEO = "render-video"
    UPLOAD_MUSIC = "upload-music"
    START_FREE_TRY = "start-free-try"


@dataclass(frozen=True)
class Rule:
    limit: Callable[[RateLimits], int]
    window_seconds: int
    message: str


HOUR = 3600

RULES: dict[Action, Rule] = {
    Action.CREATE_PROJECT: Rule(
        lambda limits: limits.create_project_per_hour, HOUR,
        "You have started a lot of projects in the last hour. You can start another in {wait}.",
    ),
    Action.UPLOAD_PHOTO: Rule(
        lambda limits: limits.upload_photo_per_hour, HOUR,
        "You have uploaded a lot of photos in the last hour. You can add more in {wait}.",
    ),
    Action.GENERATE_CLIPS: Rule(
        lambda limits: limits.generate_clips_per_hour, HOUR,
        "You have started a lot of generations in the last hour. You can start more in {wait}.",
    ),
    Action.REGENERATE_CLIP: Rule(
        lambda limits: limits.regenerate_clip_per_hour, HOUR,
        "You have regenerated a lot of clips in the last hour. You can regenerate again in {wait}.",
    ),
    Action.RENDER_VIDEO: Rule(
        lambda limits: limits.render_video_per_hour, HOUR,
        "You have made a lot of videos in the last hour. You can make another in {wait}.",
    ),
    Action.UPLOAD_MUSIC: Rule(
        lambda limits: limits.upload_music_per_hour, HOUR,
        "You have uploaded a lot of music in the last hour. You can upload more in {wait}.",
    ),
    Action.START_FREE_TRY: Rule(
        lambda limits: limits.start_free_try_per_hour, HOUR,
        "Too many free clips have been started from your network in the last hour. "
        "Please try again in {wait}, or create an account.",
    ),
}


class AddressHasher(Protocol):
    def hash_ip(self, ip: str | None) -> str | None: ...


def client_network(host: str | None) -> str | None:
    """The part of a client address that limits count: the IPv4 address, or the IPv6 /64.

    ``host`` is the connection's client as the server reports it; behind our own proxies the
    server has already taken it from ``X-Forwarded-For`` (``TRUSTED_PROXIES``). An IPv4
    address mapped into IPv6 counts as the IPv4 address. Anything that is not an IP address
    (a test client's name) is used as it is.
    """
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_NETWORK_PREFIX), strict=False))
    return str(address)


def client_subject(request: Request[Any, Any, Any], hasher: AddressHasher) -> str:
    """The rate-limit key of the request's client: a keyed hash of :func:`client_network`
    (so no address is kept in Redis or Postgres). Every limit on anonymous clients uses it."""
    return hasher.hash_ip(client_network(request.client.host if request.client else None)) or "-"


def account_subject(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "", limits: RateLimits | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = limits or RateLimits()

    async def check(self, action: Action, subject: str, *, cost: int = 1) -> None:
        """Count ``cost`` of ``action`` by ``subject`` under its rule in :data:`RULES`."""
        rule = RULES[action]
        await self.hit(
            action.value, subject, limit=rule.limit(self.limits), window=rule.window_seconds,
            message=rule.message, cost=cost,
        )

    async def for_account(self, action: Action, user_id: uuid.UUID, *, cost: int = 1) -> None:
        await self.check(action, account_subject(user_id), cost=cost)

    async def hit(
        self, action: str, subject: str, *, limit: int, window: int, message: str, cost: int = 1
    ) -> None:
        """Count ``cost`` attempts at ``action`` by ``subject``; raise 429 past ``limit`` per
        ``window`` s. A refused attempt is counted too, so hammering does not reopen the window."""
        key = f"{self.prefix}ratelimit:{action}:{subject}"
        # SET NX starts the window (EXPIRE NX would need Redis 7; the embedded Redis is 6.2).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incrby(key, cost)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if count > limit:
            retry_after = max(int(ttl), 1)
            raise RateLimited(message.format(wait=describe_wait(retry_after)), retry_after=retry_after)

    async def ensure_below(self, action: str, subject: str, *, limit: int, message: str) -> None:
        """Raise 429 when ``subject`` has already reached ``limit`` for ``action``, counting
        nothing: for limits that count only failures (checked before the attempt, counted with
        :meth:`hit` after a failure)."""
        key = f"{self.prefix}ratelimit:{action}:{subject}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= limit:
            retry_after = max(int(ttl), 1)
            raise RateLimited(message.format(wait=describe_wait(retry_after)), retry_after=retry_after)

    async def reset(self, action: str, subject: str) -> None:
        await self.redis.delete(f"{self.prefix}ratelimit:{action}:{subject}")


def describe_wait(seconds: int) -> str:
    """How long until a limit lifts, as a person would say it ("about 3 hours")."""
    if seconds < 90:
        return "a minute or two"
    minutes = round(seconds / 60)
    return f"about {minutes} minutes" if minutes < 90 else f"about {round(seconds / 3600)} hours"
