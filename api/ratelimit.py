"""Fixed-window rate limits in Redis, shared by every API process."""

from __future__ import annotations

from redis.asyncio import Redis

from api.errors import RateLimited


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, action: str, subject: str, *, limit: int, window: int, message: str) -> None:
        """Count one attempt at ``action`` by ``subject``; raise 429 past ``limit`` per ``window`` s."""
        key = f"{self.prefix}ratelimit:{action}:{subject}"
        # SET NX starts the window (EXPIRE NX would need Redis 7; the embedded Redis is 6.2).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if count > limit:
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
