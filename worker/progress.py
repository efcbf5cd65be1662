"""Progress of a long job, written out at a steady pace whatever rate it is reported at."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

FLUSH_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0


class JobProgress:
    """Collects progress (from providers, ffmpeg …) and hands it to ``write`` at most every
    ``FLUSH_SECONDS`` when it moved by at least 1 %; touches the SAQ job often enough for
    its heartbeat, so a long job is never mistaken for a stuck one. Progress only rises and
    stops short of 1.0: the final state is the job's to announce."""

    def __init__(self, job: Any, write: Callable[[float], Awaitable[None]], *, start: float = 0.02) -> None:
        self.job = job
        self.write = write
        self.value = start
        self._written = -1.0
        self._task: asyncio.Task[None] | None = None

    def update(self, fraction: float) -> None:
        self.value = max(self.value, min(max(fraction, 0.0), 0.99))

    async def update_async(self, fraction: float) -> None:
        self.update(fraction)

    async def _run(self) -> None:
        last_heartbeat = time.monotonic()
        heartbeat_every = min(HEARTBEAT_SECONDS, max((self.job.heartbeat or 0) / 3, 1.0))
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            if self.value - self._written >= 0.01:
                self._written = self.value
                await self.write(self._written)
            if time.monotonic() - last_heartbeat >= heartbeat_every:
                last_heartbeat = time.monotonic()
                await self.job.update()

    async def __aenter__(self) -> JobProgress:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
