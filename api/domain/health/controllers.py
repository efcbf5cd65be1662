"""``GET /api/health``: is the API able to serve, and is anyone processing jobs?

Everyone gets the verdict (``status`` and the HTTP status, what load balancers and uptime
checks need). Which components answer, how fast, and how many workers and jobs there are
is shown outside production, and in production only to administrators: it maps the
deployment for whoever asks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import cast

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.jobs import QueueName, Queues


class ComponentHealth(msgspec.Struct, rename="camel"):
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class WorkerHealth(msgspec.Struct, rename="camel"):
    ok: bool
    workers: dict[str, int]
    queued: dict[str, int]
    active: dict[str, int]
    error: str | None = None


class Health(msgspec.Struct, rename="camel", omit_defaults=True):
    """``status`` is ``ok``, ``degraded`` (serving, but no worker) or ``unavailable``; the
    components are present only for those allowed to see them (see the module docstring)."""

    status: str
    database: ComponentHealth | None = None
    redis: ComponentHealth | None = None
    worker: WorkerHealth | None = None


async def _timed(check: Callable[[], Awaitable[object]]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=3)
    except Exception as exc:
        return ComponentHealth(ok=False, error=type(exc).__name__)
    return ComponentHealth(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def _worker_health(queues: Queues) -> WorkerHealth:
    workers: dict[str, int] = {}
    queued: dict[str, int] = {}
    active: dict[str, int] = {}
    try:
        for name in QueueName:
            info = await asyncio.wait_for(queues[name].info(), timeout=3)
            workers[name.value] = len(info["workers"])
            queued[name.value] = info["queued"]
            active[name.value] = info["active"]
    except Exception as exc:
        return WorkerHealth(ok=False, workers=workers, queued=queued, active=active, error=type(exc).__name__)
    return WorkerHealth(
        ok=all(workers.get(n.value, 0) > 0 for n in QueueName), workers=workers, queued=queued, active=active
    )


class HealthController(Controller):
    opt = PUBLIC
    path = "/api/health"
    tags = ["health"]

    @get(operation_id="GetHealth", summary="Service health", cache=False)
    async def get_health(
        self,
        db_session: NamedDependency[AsyncSession],
        redis: NamedDependency[Redis],
        queues: NamedDependency[Queues],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[CurrentUser | None],
    ) -> Response[Health]:
        """Database and Redis reachability and worker liveness.

        Answers 503 when the API cannot serve (database or Redis down). A missing worker is
        reported (``status: degraded``) but keeps 200: uploads are accepted and wait in the queue.
        In production the components are shown to administrators only; others get ``status``.
        """
        database = await _timed(lambda: db_session.execute(text("SELECT 1")))
        redis_health = await _timed(lambda: cast("Awaitable[bool]", redis.ping()))
        worker = await _worker_health(queues) if redis_health.ok else WorkerHealth(
            ok=False, workers={}, queued={}, active={}, error="redis unavailable"
        )
        serving = database.ok and redis_health.ok
        status = "ok" if serving and worker.ok else ("degraded" if serving else "unavailable")
        if settings.is_production and not (viewer and viewer.is_admin):
            body = Health(status=status)
        else:
            body = Health(status=status, database=database, redis=redis_health, worker=worker)
        return Response(body, status_code=200 if serving else 503)
