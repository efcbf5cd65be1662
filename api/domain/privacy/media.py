"""Which stored objects rows point to, and deleting objects once no row does.

Files are deleted only after the commit that deleted their rows: a rolled-back deletion
must not leave rows pointing at missing files. A deletion that fails after the commit
leaves an orphan, which the orphan sweep (:mod:`api.domain.privacy.orphans`) removes later.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.db import models as m
from api.storage import Storage

log = structlog.get_logger()

#: Every column that holds a storage key. A new one must be listed here, or the orphan
#: sweep deletes its objects (a test checks the models against this list).
MEDIA_REFERENCES: tuple[InstrumentedAttribute[str | None], ...] = (
    m.Photo.storage_key,
    m.Photo.thumbnail_key,
    m.Clip.video_key,
    m.Clip.poster_key,
    m.Render.video_key,
    m.Render.poster_key,
    m.MusicTrack.storage_key,
    m.MusicTrack.preview_key,
    m.MusicTrack.source_key,
)

#: The key areas (first path segment) that hold user media and are swept for orphans.
MEDIA_AREAS = ("photos/", "clips/", "renders/", "music/", "music-uploads/")

#: The built-in music library: seeded from generated files, never swept or deleted.
BUILTIN_MUSIC_PREFIX = "music/builtin-"


async def referenced_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` that some row still points to."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    query = sa.union(
        *(sa.select(column.label("key")).where(column.in_(wanted)) for column in MEDIA_REFERENCES)
    )
    return set(await session.scalars(sa.select(query.subquery().c.key)))


async def delete_stored_media(storage: Storage, keys: Iterable[str | None], *, reason: str) -> int:
    """Delete the objects (never the built-in music); returns how many were asked for.

    Runs after the commit, so it must not fail the request or job that made the objects
    unreferenced: a failure is logged and the orphan sweep retries later.
    """
    unique = [k for k in dict.fromkeys(keys) if k and not k.startswith(BUILTIN_MUSIC_PREFIX)]
    if not unique:
        return 0
    try:
        await storage.delete_many(unique)
    except Exception as exc:  # any store error: the rows are gone, the sweep retries
        log.warning("media_delete_failed", reason=reason, count=len(unique), error=repr(exc))
    else:
        log.info("media_deleted", reason=reason, count=len(unique))
    return len(unique)
