"""Crons that make deleted data really go away."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.domain.privacy.orphans import OrphanMediaSweep
from worker.context import WorkerResources


async def sweep_orphan_media(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: delete stored media no row has pointed to for the grace period (see
    :mod:`api.domain.privacy.orphans`)."""
    res: WorkerResources = ctx["resources"]
    sweep = OrphanMediaSweep(
        res.sessions, res.storage, res.redis,
        grace=timedelta(hours=res.settings.orphan_media_grace_hours), prefix=res.settings.queue_prefix,
    )
    result = await sweep.run()
    return {"scanned": result.scanned, "unreferenced": result.unreferenced, "deleted": result.deleted}
