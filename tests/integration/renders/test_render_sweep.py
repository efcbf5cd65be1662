"""Renders whose job was lost are queued again or failed, never left blocking their project;
scratch directories of killed jobs are removed when a worker starts."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from api.db import models as m
from api.jobs import RENDER_REQUEUE_LIMIT
from tests.integration.helpers import sql
from tests.integration.renders.test_render_and_share import _project_with_clips, _wait_render
from tests.paths import REPO_ROOT
from worker.context import WorkerResources
from worker.jobs.renders import RENDER_LOST, sweep_stuck_renders
from worker.scratch import JobScratch


async def _lost_render(worker: WorkerResources, project: dict[str, Any], *, requeues: int) -> str:
    """An active render row whose job never made it to the queue (or was swept away)."""
    async with worker.session() as session:
        owner = await session.scalar(
            sa.select(m.Project.user_id).where(m.Project.id == uuid.UUID(project["id"]))
        )
        render = m.Render(
            project_id=uuid.UUID(project["id"]), user_id=owner, status=m.RenderStatus.QUEUED, progress=0.0,
            watermarked=False, title=project["title"], requeues=requeues,
            created_at=datetime.now(UTC) - timedelta(minutes=5),
        )
        session.add(render)
        await session.commit()
        return str(render.id)


async def _stored_renders(worker: WorkerResources) -> list[str]:
    return [key async for key in worker.storage.list_keys("renders/")]


async def test_a_render_whose_job_is_lost_is_queued_again_and_finishes_once(
    client: AsyncTestClient[Any], worker: WorkerResources, database_url: str
) -> None:
    project = await _project_with_clips(client, database_url, ("coffee.jpg", "rocket.jpg"))
    ledger_before = await sql(database_url, "SELECT id FROM credit_transactions")
    stored_before = set(await _stored_renders(worker))
    render_id = await _lost_render(worker, project, requeues=0)

    assert await sweep_stuck_renders({"resources": worker}) == {"requeued": 1, "failed": 0}
    assert await sweep_stuck_renders({"resources": worker}) == {"requeued": 0, "failed": 0}, "its job is alive now"
    render = await _wait_render(client, render_id)
    assert render["status"] == "succeeded", render
    assert (await client.get(render["videoUrl"])).status_code == 200
    assert await sweep_stuck_renders({"resources": worker}) == {"requeued": 0, "failed": 0}
    rows = await sql(database_url, "SELECT status, requeues FROM renders")
    assert [(r["status"], r["requeues"]) for r in rows] == [("succeeded", 1)]
    new_files = set(await _stored_renders(worker)) - stored_before
    assert len(new_files) == 2, f"one video and its poster, not {sorted(new_files)}"
    assert await sql(database_url, "SELECT id FROM credit_transactions") == ledger_before


async def test_a_render_lost_beyond_the_bound_fails_with_a_message_and_frees_the_project(
    client: AsyncTestClient[Any], worker: WorkerResources, database_url: str
) -> None:
    project = await _project_with_clips(client, database_url, ("chelsea.jpg",))
    ledger_before = await sql(database_url, "SELECT id FROM credit_transactions")
    render_id = await _lost_render(worker, project, requeues=RENDER_REQUEUE_LIMIT)

    blocked = await client.post(f"/api/projects/{project['id']}/render")
    assert blocked.status_code == 200 and blocked.json()["id"] == render_id, "the lost render blocks the project"
    assert await sweep_stuck_renders({"resources": worker}) == {"requeued": 0, "failed": 1}
    failed = (await client.get(f"/api/renders/{render_id}")).json()
    assert failed["status"] == "failed" and failed["error"] == RENDER_LOST

    fresh = await client.post(f"/api/projects/{project['id']}/render")
    assert fresh.status_code == 202 and fresh.json()["id"] != render_id
    assert (await _wait_render(client, fresh.json()["id"]))["status"] == "succeeded"
    assert await sql(database_url, "SELECT id FROM credit_transactions") == ledger_before


async def test_scratch_of_a_killed_job_is_removed_and_a_running_jobs_is_kept(tmp_path: Path) -> None:
    scratch = JobScratch(tmp_path / "jobs")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sys, time\n"
        "from pathlib import Path\n"
        "from worker.scratch import JobScratch\n"
        "with JobScratch(Path(sys.argv[1])).job_dir('render-killed') as d:\n"
        "    (d / 'video.mp4').write_bytes(b'x' * 1000)\n"
        "    print(d, flush=True)\n"
        "    time.sleep(120)\n",
        str(tmp_path / "jobs"), cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    killed_dir = Path((await child.stdout.readline()).decode().strip())
    assert killed_dir.is_dir()
    with scratch.job_dir("clip-running") as running:
        assert scratch.remove_stale() == 0, "the other process's job is still running"
        child.kill()
        await child.wait()
        assert scratch.remove_stale() == 1
        assert not killed_dir.exists()
        assert running.is_dir()
    assert list((tmp_path / "jobs").iterdir()) == []
