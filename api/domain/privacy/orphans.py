"""The orphan-media sweep: deletes stored objects that no row points to.

The storage interface lists keys but not their age, and an object is legitimately
unreferenced for a moment (a photo is stored just before the row naming it is committed,
a clip's video just before the job records it). So an object is deleted only when two
sweeps at least the grace period apart (``ORPHAN_MEDIA_GRACE_HOURS``) both found it
unreferenced: the first sweep that sees an unreferenced key records when, in one Redis hash;
a later sweep deletes it once the grace period has passed since then, and forgets keys that
became referenced or disappeared meanwhile. This works the same on local disk and on S3.

Only the media areas are swept, and the built-in music library never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.domain.privacy.media import (
    BUILTIN_MUSIC_PREFIX,
    MEDIA_AREAS,
    delete_stored_media,
    referenced_keys,
)
from api.storage import Storage

log = structlog.get_logger()

BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    scanned: int
    unreferenced: int
    deleted: int


class OrphanMediaSweep:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], storage: Storage, redis: Redis, *,
        grace: timedelta, prefix: str = "",
    ) -> None:
        self.sessions = sessions
        self.storage = storage
        self.redis = redis
        self.grace = grace
        self.seen_key = f"{prefix}echoes:orphan-media:first-seen"

    async def run(self, *, now: datetime | None = None) -> SweepResult:
        now = now or datetime.now(UTC)
        first_seen = {
            k.decode(): datetime.fromtimestamp(float(v), UTC)
            for k, v in (await self.redis.hgetall(self.seen_key)).items()  # type: ignore[misc]
        }
        pending: dict[str, datetime] = {}
        due: list[str] = []
        scanned = 0
        for area in MEDIA_AREAS:
            batch: list[str] = []
            async for key in self.storage.list_keys(area):
                if key.startswith(BUILTIN_MUSIC_PREFIX):
                    continue
                scanned += 1
                batch.append(key)
                if len(batch) >= BATCH:
                    await self._sort(batch, first_seen, now, pending, due)
                    batch = []
            await self._sort(batch, first_seen, now, pending, due)
        deleted = 0
        if due:
            async with self.sessions() as session:
                revived = await referenced_keys(session, due)
            doomed = [k for k in due if k not in revived]
            # Remembered as before: a key whose deletion failed is due again next sweep.
            pending.update((k, first_seen[k]) for k in doomed)
            deleted = await delete_stored_media(self.storage, doomed, reason="orphan sweep")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.seen_key)
            if pending:
                pipe.hset(self.seen_key, mapping={k: str(t.timestamp()) for k, t in pending.items()})
            await pipe.execute()
        result = SweepResult(scanned=scanned, unreferenced=len(pending), deleted=deleted)
        log.info("orphan_media_swept", scanned=scanned, unreferenced=result.unreferenced, deleted=deleted)
        return result

    async def _sort(
        self, batch: list[str], first_seen: dict[str, datetime], now: datetime,
        pending: dict[str, datetime], due: list[str],
    ) -> None:
        if not batch:
            return
        async with self.sessions() as session:
            referenced = await referenced_keys(session, batch)
        for key in batch:
            if key in referenced:
                continue
            seen = first_seen.get(key)
            if seen is not None and now - seen >= self.grace:
                due.append(key)
            else:
                pending[key] = seen or now
