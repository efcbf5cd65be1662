"""Resources a worker process shares between its jobs (engine, storage, queues, providers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.config import Settings
from api.jobs import Queues
from api.storage import Storage, open_storage
from worker.providers import ProviderChain, build_chain
from worker.scratch import JobScratch


@dataclass
class WorkerResources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    queues: Queues
    redis: Redis
    chain: ProviderChain

    @property
    def scratch_dir(self) -> Path:
        path = self.settings.var_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def scratch(self) -> JobScratch:
        """Per-job scratch directories (renders, clips), cleaned of dead jobs' at start."""
        return JobScratch(self.scratch_dir / "jobs")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @classmethod
    async def open(cls, settings: Settings) -> WorkerResources:
        engine = create_async_engine(
            settings.database_url, pool_size=settings.database_pool_size, pool_pre_ping=True
        )
        queues = Queues(
            settings.redis_url, prefix=settings.queue_prefix,
            clip_heartbeat=settings.clip_job_heartbeat_seconds,
            render_heartbeat=settings.render_job_heartbeat_seconds,
        )
        await queues.connect()
        redis = Redis.from_url(settings.redis_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            storage=open_storage(settings),
            queues=queues,
            redis=redis,
            chain=build_chain(settings, redis),
        )

    async def close(self) -> None:
        await self.chain.aclose()
        await self.queues.disconnect()
        await self.redis.aclose()
        await self.engine.dispose()
