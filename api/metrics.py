"""Prometheus metrics: what operators watch, on the API (``/metrics``) and on each worker.

Three sources, each counted where it is exact:

- **Per process** (HTTP requests, job durations and failures, provider calls): prometheus
  counters and histograms in the process that sees the event. With several processes per
  container (``uvicorn --workers``), set ``PROMETHEUS_MULTIPROC_DIR`` and the scrape merges
  them (prometheus_client's multiprocess mode).
- **Cluster-wide state** (queue depth and age of the oldest waiting job per queue): read from
  Redis at scrape time, so every replica reports the same, true numbers.
- **Business totals** (clips, renders, free tries, sign-ups, credits sold and spent): counted
  from Postgres at scrape time (cached briefly), the source of truth, instead of counters that
  would reset with each deploy and differ per replica.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from redis.asyncio import Redis
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m

JOB_SECONDS = Histogram(
    "echoes_job_duration_seconds", "Time a job ran, by task and outcome",
    ["task", "outcome"], buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
JOB_FAILURES = Counter("echoes_job_failures_total", "Jobs that failed or were aborted, by task", ["task", "status"])
PROVIDER_SECONDS = Histogram(
    "echoes_provider_call_seconds", "Latency of motion provider calls, by provider and operation",
    ["provider", "operation"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_FAILURES = Counter(
    "echoes_provider_failures_total", "Motion provider failures, by provider and kind", ["provider", "kind"]
)


def process_registry(multiproc_dir: str = "") -> CollectorRegistry:
    """The per-process metrics, merged across processes in multiprocess mode.

    prometheus_client decides at import time, from ``PROMETHEUS_MULTIPROC_DIR``, whether its
    metrics write to that directory; Settings reads the same variable so we merge from it.
    """
    if multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def circuit_key(prefix: str, provider: str) -> str:
    """Where a provider's open circuit lives in Redis (worker/providers/chain.py writes it)."""
    return f"{prefix}provider-circuit:{provider}"


async def circuit_families(redis: Redis, prefix: str, providers: tuple[str, ...]) -> list[GaugeMetricFamily]:
    """Circuit state from Redis, the one place all workers share it."""
    family = GaugeMetricFamily(
        "echoes_provider_circuit_open_seconds",
        "Seconds until a skipped provider is tried again (0: circuit closed)", labels=["provider"],
    )
    for provider in providers:
        remaining_ms = await redis.pttl(circuit_key(prefix, provider))
        family.add_metric([provider], max(0, remaining_ms) / 1000)
    return [family]


async def queue_families(queues: list[Queue], prefix: str) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily("echoes_queue_depth", "Jobs waiting in each queue", labels=["queue"])
    active = GaugeMetricFamily("echoes_queue_active", "Jobs running in each queue", labels=["queue"])
    age = GaugeMetricFamily(
        "echoes_queue_oldest_age_seconds", "Age of the oldest waiting job in each queue", labels=["queue"]
    )
    workers = GaugeMetricFamily("echoes_queue_workers", "Live workers serving each queue", labels=["queue"])
    now_ms = time.time() * 1000
    for queue in queues:
        name = queue.name.removeprefix(prefix)
        info = await queue.info()
        depth.add_metric([name], info["queued"])
        active.add_metric([name], info["active"])
        workers.add_metric([name], len(info["workers"]))
        oldest = await _oldest_queued_ms(queue)
        age.add_metric([name], max(0.0, (now_ms - oldest) / 1000) if oldest else 0.0)
    return [depth, active, age, workers]


async def _oldest_queued_ms(queue: Queue) -> float | None:
    """Enqueue time of the job at the head of the queue (SAQ pops from the right)."""
    redis = queue.redis  # type: ignore[attr-defined]
    head = await redis.lrange(queue._queued, -1, -1)  # type: ignore[attr-defined]
    if not head:
        return None
    job = await queue.job(head[0].decode())
    return float(job.queued) if job is not None and job.queued else None


@dataclass
class BusinessTotals:
    """Counts from Postgres, cached for ``ttl`` seconds so frequent scrapes stay cheap."""

    ttl: float = 15.0
    _at: float = 0.0
    _families: list[GaugeMetricFamily] = field(default_factory=list)

    async def families(self, session: AsyncSession) -> list[GaugeMetricFamily]:
        if time.monotonic() - self._at < self.ttl and self._families:
            return self._families
        clips = GaugeMetricFamily("echoes_clips", "Clips by kind and status", labels=["kind", "status"])
        for kind, status, count in await session.execute(
            sa.select(m.Clip.kind, m.Clip.status, sa.func.count()).group_by(m.Clip.kind, m.Clip.status)
        ):
            clips.add_metric([str(kind), str(status)], count)
        renders = GaugeMetricFamily("echoes_renders", "Renders by status", labels=["status"])
        for status, count in await session.execute(
            sa.select(m.Render.status, sa.func.count()).group_by(m.Render.status)
        ):
            renders.add_metric([str(status)], count)
        users = GaugeMetricFamily("echoes_signups", "Accounts created")
        users.add_metric([], await session.scalar(sa.select(sa.func.count()).select_from(m.User)) or 0)
        credits = GaugeMetricFamily(
            "echoes_credits", "Sum of credits moved by ledger kind (negative = taken)", labels=["kind"]
        )
        for kind, total in await session.execute(
            sa.select(m.CreditTransaction.kind, sa.func.sum(m.CreditTransaction.amount))
            .group_by(m.CreditTransaction.kind)
        ):
            credits.add_metric([str(kind)], int(total or 0))
        await session.rollback()
        self._families = [clips, renders, users, credits]
        self._at = time.monotonic()
        return self._families


def render(registry: CollectorRegistry, *family_groups: list[GaugeMetricFamily]) -> bytes:
    """The exposition text of ``registry`` (this process's metrics) plus scrape-time families."""
    scrape = CollectorRegistry()

    class _Families:
        def collect(self) -> list[GaugeMetricFamily]:
            return [family for group in family_groups for family in group]

    scrape.register(_Families())  # type: ignore[arg-type]
    return generate_latest(registry) + generate_latest(scrape)


def token_matches(expected: str, authorization: str | None) -> bool:
    """``Authorization: Bearer <METRICS_TOKEN>``, compared in constant time."""
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
