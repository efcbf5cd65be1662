"""What operators poll: ``/metrics`` (Prometheus) and ``/api/ready`` (readiness).

``/api/health`` stays the liveness view. Readiness asks whether this replica can serve a
request right now: the database, Redis and the object store all answer. A load balancer
takes a replica out of rotation while it answers 503, without restarting it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import cast

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import PUBLIC
from api.errors import NotFound
from api.jobs import Queues
from api.metrics import (
    BusinessTotals,
    circuit_families,
    process_registry,
    queue_families,
    render,
    token_matches,
)
from api.storage import Storage

#: A key that never exists: asking for it proves the store answers and our credentials work.
READINESS_PROBE_KEY = "ops/readiness/probe"

_business = BusinessTotals()


class Readiness(msgspec.Struct, rename="camel"):
    ready: bool
    checks: dict[str, bool]
    latency_ms: dict[str, float]


async def _check(name: str, probe, results: dict[str, bool], latency: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=3)
        results[name] = True
    except Exception:
        results[name] = False
    latency[name] = round((time.perf_counter() - started) * 1000, 2)


class OpsController(Controller):
    opt = PUBLIC
    tags = ["ops"]

    @get("/api/ready", operation_id="GetReadiness", summary="Readiness of this replica", cache=False)
    async def ready(
        self,
        db_session: NamedDependency[AsyncSession],
        redis: NamedDependency[Redis],
        storage: NamedDependency[Storage],
    ) -> Response[Readiness]:
        """200 when the database, Redis and the object store answer; 503 otherwise."""
        results: dict[str, bool] = {}
        latency: dict[str, float] = {}

        async def database() -> None:
            await db_session.execute(text("SELECT 1"))

        async def cache() -> None:
            await cast("Awaitable[bool]", redis.ping())

        async def store() -> None:
            await storage.exists(READINESS_PROBE_KEY)

        await asyncio.gather(
            _check("database", database, results, latency),
            _check("redis", cache, results, latency),
            _check("storage", store, results, latency),
        )
        ready = all(results.values())
        return Response(
            Readiness(ready=ready, checks=results, latency_ms=latency), status_code=200 if ready else 503
        )

    @get("/metrics", operation_id="GetMetrics", include_in_schema=False, cache=False)
    async def metrics(
        self,
        request: Request,
        settings: NamedDependency[Settings],
        db_session: NamedDependency[AsyncSession],
        queues: NamedDependency[Queues],
        redis: NamedDependency[Redis],
    ) -> Response[bytes]:
        """Prometheus exposition. In production only with ``Authorization: Bearer METRICS_TOKEN``
        (no token configured: not served); the web proxy never forwards this path."""
        if settings.is_production and not settings.metrics_token:
            raise NotFound("Not found.")
        if not token_matches(settings.metrics_token, request.headers.get("authorization")):
            raise NotFound("Not found.")
        body = render(
            process_registry(settings.prometheus_multiproc_dir),
            await queue_families(queues.all(), queues.prefix),
            await circuit_families(redis, settings.queue_prefix, settings.motion_providers),
            await _business.families(db_session),
        )
        return Response(body, media_type=CONTENT_TYPE_LATEST)
