"""The local motion provider: the pan-and-zoom of :mod:`assembly.motion`, run in this process.

It speaks the same interface as the remote providers so the chain can fall back to it, but
its "jobs" are asyncio tasks of this worker process: they are not durable (a job id from
before a restart is unknown afterwards) and the chain cancels them if it stops waiting.
Renders wait for a slot (``max_concurrent``, one per core by default) so a burst of clips
does not start more ffmpeg encodes than there are cores; a waiting job reads as QUEUED.

The output is already a stored clip (exact aspect size, :data:`CLIP_ENCODING`), made
without intro or watermark: those are added when the clip is finished.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from assembly.encoding import ASPECT_SIZES
from assembly.motion import render_motion
from worker.providers.base import JobRef, JobState, JobStatus, MotionRequest, ProviderFailed
from worker.providers.http import CODE_BAD_REQUEST, CODE_NOT_FOUND

NAME = "local"
MODEL = "local-motion"


@dataclass
class _LocalJob:
    workdir: Path
    output: Path
    task: asyncio.Task[None] | None = None
    started: bool = False
    progress: float = 0.0

    def set_progress(self, value: float) -> None:
        self.progress = value


class LocalMotionProvider:
    """:class:`~worker.providers.base.MotionProvider` rendering in-process with ffmpeg."""

    name = NAME
    durable = False

    def __init__(
        self,
        *,
        scratch_dir: Path | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        self._scratch_dir = scratch_dir
        self._slots = asyncio.Semaphore(max_concurrent or os.cpu_count() or 1)
        self._jobs: dict[str, _LocalJob] = {}

    async def submit(self, request: MotionRequest) -> JobRef:
        if request.aspect not in ASPECT_SIZES:
            raise ProviderFailed(
                f"unknown aspect {request.aspect!r}", provider=NAME, code=CODE_BAD_REQUEST
            )
        if not Path(request.photo_path).is_file():
            raise ProviderFailed(
                f"photo {request.photo_path} does not exist", provider=NAME, code=CODE_BAD_REQUEST
            )
        if self._scratch_dir is not None:
            self._scratch_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="echoes-local-motion-", dir=self._scratch_dir))
        job_id = uuid.uuid4().hex
        job = _LocalJob(workdir=workdir, output=workdir / "clip.mp4")
        job.task = asyncio.create_task(self._run(job, request), name=f"local-motion-{job_id}")
        job.task.add_done_callback(lambda task: self._discard_failed(job, task))
        self._jobs[job_id] = job
        return JobRef(provider=NAME, job_id=job_id)

    async def _run(self, job: _LocalJob, request: MotionRequest) -> None:
        async with self._slots:
            job.started = True
            await render_motion(
                Path(request.photo_path),
                job.output,
                aspect=request.aspect,
                duration=request.duration,
                seed=request.seed,
                progress=job.set_progress,
            )

    @staticmethod
    def _discard_failed(job: _LocalJob, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is not None:
            shutil.rmtree(job.workdir, ignore_errors=True)

    def _job(self, ref: JobRef) -> _LocalJob:
        job = self._jobs.get(ref.job_id)
        if job is None or job.task is None:
            raise ProviderFailed(
                f"local motion job {ref.job_id} is unknown to this worker process (local jobs "
                "do not survive a restart)",
                provider=NAME,
                code=CODE_NOT_FOUND,
            )
        return job

    async def status(self, ref: JobRef) -> JobStatus:
        job = self._job(ref)
        task = job.task
        assert task is not None
        if not task.done():
            if not job.started:
                return JobStatus(JobState.QUEUED, progress=0.0)
            return JobStatus(JobState.RUNNING, progress=job.progress)
        if task.cancelled():
            return JobStatus(JobState.CANCELLED)
        exc = task.exception()
        if exc is not None:
            self._jobs.pop(ref.job_id, None)
            raise ProviderFailed(
                f"local motion render failed: {exc}", provider=NAME, code="render_failed"
            ) from exc
        return JobStatus(JobState.SUCCEEDED, progress=1.0, cost=0.0, extra={"model": MODEL})

    async def cancel(self, ref: JobRef) -> None:
        job = self._jobs.pop(ref.job_id, None)
        if job is None or job.task is None:
            return
        job.task.cancel()
        await asyncio.gather(job.task, return_exceptions=True)
        shutil.rmtree(job.workdir, ignore_errors=True)

    async def download(self, ref: JobRef, status: JobStatus, dest: Path) -> None:
        job = self._job(ref)
        if job.task is None or not job.task.done() or not job.output.is_file():
            raise ProviderFailed(
                f"local motion job {ref.job_id} has no finished clip",
                provider=NAME,
                code="no_output",
            )
        await asyncio.to_thread(shutil.move, job.output, Path(dest))
        self._jobs.pop(ref.job_id, None)
        shutil.rmtree(job.workdir, ignore_errors=True)

    async def aclose(self) -> None:
        """Stop every render still running and remove its files."""
        for job_id in list(self._jobs):
            await self.cancel(JobRef(provider=NAME, job_id=job_id))
