"""Batch generation through the HTTP API against the Runway and Runpod fakes: throughput,
failover, refunds, dead letters, cancellation, and a worker killed mid-generation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from saq import Status

from api.app import create_app
from api.config import Settings
from api.db import models as m
from api.jobs import QueueName, clip_job_key
from assembly.probe import probe
from tests.conftest import make_settings
from tests.fakes.runpod_fake import RunpodFake
from tests.fakes.runway_fake import RunwayFake
from tests.integration.conftest import running_worker, started, wait_until
from tests.integration.helpers import make_admin, sign_up, sql, verify_email
from tests.integration.projects.conftest import (
    give_credits,
    new_project,
    photo_files,
    wait_clips_settled,
)
from tests.paths import REPO_ROOT
from worker.context import WorkerResources
from worker.jobs.clips import FAILED_FOR_GOOD, after_clip_job, generate_clip, mark_clip_failed
from worker.main import build_workers

TEN = ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "hubble.jpg",
       "astronaut.webp", "chelsea_grey.jpg", "coffee_cmyk.jpg", "coffee_alpha.png", "phone_portrait.jpg")


@pytest.fixture(scope="module")
def provider_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Runway fake serves: 5 s of 30 fps 1280x720 (normalised to 24 fps later)."""
    import subprocess

    from assembly.ffmpeg import ffmpeg_cmd

    path = tmp_path_factory.mktemp("provider") / "output.mp4"
    subprocess.run(
        ffmpeg_cmd(*"-f lavfi -i testsrc2=size=1280x720:rate=30:duration=5".split(),
                   *"-c:v libx264 -preset ultrafast -pix_fmt yuv420p".split(), str(path)),
        check=True,
    )
    return path


def quick_runpod_model(photo: Path, out: Path, **options: Any) -> None:
    """The GPU host's model hook (``ECHOES_I2V_MODEL``): test bars, quicker than a render."""
    import subprocess

    from assembly.ffmpeg import ffmpeg_cmd

    subprocess.run(
        ffmpeg_cmd(*f"-f lavfi -i testsrc2=size=640x360:rate=25:duration={options['duration']}".split(),
                   *"-c:v libx264 -preset ultrafast -pix_fmt yuv420p".split(), str(out)),
        check=True,
    )


@pytest.fixture
def runway(provider_output: Path) -> Any:
    with RunwayFake(provider_output, pending_seconds=0, run_seconds=0, concurrency=20) as fake:
        yield fake


@pytest.fixture
def runpod(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ECHOES_I2V_MODEL", f"{__name__}:quick_runpod_model")
    with RunpodFake(workers=4) as fake:
        yield fake


def provider_settings(base: Settings, *, runway: RunwayFake | None, runpod: RunpodFake | None, **extra: str) -> Settings:
    env: dict[str, str] = {"PROVIDER_ATTEMPTS": "2", "PROVIDER_COOLDOWN_SECONDS": "300",
                           "PROVIDER_POLL_SECONDS": "0.2", **extra}
    order = []
    if runway is not None:
        env |= {"RUNWAY_API_KEY": runway.api_key, "RUNWAY_API_BASE": runway.url}
        order.append("runway")
    if runpod is not None:
        env |= {"RUNPOD_API_KEY": runpod.api_key, "RUNPOD_ENDPOINT_ID": runpod.endpoint_id,
                "RUNPOD_API_BASE": runpod.base_url}
        order.append("runpod")
    env.setdefault("MOTION_PROVIDERS", ",".join(order))
    return make_settings(
        database_url=base.database_url, redis_url=base.redis_url,
        queue_prefix=f"{base.queue_prefix}{os.urandom(3).hex()}-", var_dir=base.var_dir, **env,
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient[Any], WorkerResources]]:
    async with running_worker(settings) as resources, AsyncTestClient(app=create_app(settings)) as client:
        yield client, resources


async def _project_with_photos(client: AsyncTestClient[Any], database_url: str, names: tuple[str, ...], credits: int) -> tuple[dict[str, Any], dict[str, Any]]:
    me = (await sign_up(client))["user"]
    await verify_email(database_url, me["id"])
    await give_credits(client, database_url, me, credits)
    project = await new_project(client)
    upload = await client.post(f"/api/projects/{project['id']}/photos", files=photo_files(*names))
    assert upload.json()["accepted"] == len(names), upload.text
    return me, project


async def test_ten_clips_through_runway(settings: Settings, runway: RunwayFake, clean_db: None, tmp_path: Path) -> None:
    s = provider_settings(settings, runway=runway, runpod=None, WORKER_CLIPS_CONCURRENCY="10")
    async with running(s) as (client, _):
        _, project = await _project_with_photos(client, s.database_url, TEN, 9)
        started = time.perf_counter()
        assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202
        clips = (await wait_clips_settled(client, project["id"]))["clips"]
        elapsed = time.perf_counter() - started
        assert [c["status"] for c in clips] == ["succeeded"] * 10
        assert {c["provider"] for c in clips} == {"runway"}
        video = await client.get(clips[0]["videoUrl"])
        (tmp_path / "c.mp4").write_bytes(video.content)
        info = probe(tmp_path / "c.mp4")
        assert info.video is not None and info.video.fps == pytest.approx(24.0)
        assert (info.video.width, info.video.height) == (1280, 720)
        assert abs(info.duration - 5.0) <= 1 / 24 + 1e-6
    created = [r for r in runway.requests if r.method == "POST" and r.path == "/v1/image_to_video"]
    assert len(created) == 10
    assert all(r.headers.get("x-runway-version") == "2024-11-06" for r in created)
    rows = await sql(
        s.database_url,
        "SELECT provider_job_id, provider_cost, extract(epoch FROM started_at - queued_at) AS wait FROM clips",
    )
    assert all(r["provider_job_id"] and r["provider_cost"] == pytest.approx(0.25) for r in rows)
    waits = sorted(float(r["wait"]) for r in rows)
    print(
        f"\n10 clips via the Runway fake, end to end: {elapsed:.1f}s; enqueue-to-start "
        f"median {waits[len(waits) // 2] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
    )


async def test_ten_clips_through_runpod_running_our_handler(
    settings: Settings, runpod: RunpodFake, clean_db: None
) -> None:
    s = provider_settings(settings, runway=None, runpod=runpod, WORKER_CLIPS_CONCURRENCY="10")
    async with running(s) as (client, _):
        _, project = await _project_with_photos(client, s.database_url, TEN, 9)
        started = time.perf_counter()
        await client.post(f"/api/projects/{project['id']}/generate")
        clips = (await wait_clips_settled(client, project["id"]))["clips"]
        elapsed = time.perf_counter() - started
    assert [c["status"] for c in clips] == ["succeeded"] * 10
    assert {c["provider"] for c in clips} == {"runpod"}
    print(f"\n10 clips via the Runpod fake, end to end: {elapsed:.1f}s")


async def test_runway_down_fails_over_to_runpod(
    settings: Settings, runway: RunwayFake, runpod: RunpodFake, clean_db: None
) -> None:
    runway.down = True
    s = provider_settings(settings, runway=runway, runpod=runpod, WORKER_CLIPS_CONCURRENCY="10")
    async with running(s) as (client, _):
        _, project = await _project_with_photos(client, s.database_url, TEN, 9)
        await client.post(f"/api/projects/{project['id']}/generate")
        clips = (await wait_clips_settled(client, project["id"]))["clips"]
    assert [c["status"] for c in clips] == ["succeeded"] * 10
    assert {c["provider"] for c in clips} == {"runpod"}
    assert (await sql(s.database_url, "SELECT credit_balance FROM users"))[0]["credit_balance"] == 0


async def test_both_providers_down_fail_refund_once_and_land_in_dead_letters(
    settings: Settings, runway: RunwayFake, runpod: RunpodFake, clean_db: None
) -> None:
    runway.down = True
    runpod.down = True
    s = provider_settings(settings, runway=runway, runpod=runpod, PROVIDER_ATTEMPTS="1",
                          PROVIDER_COOLDOWN_SECONDS="1")
    async with running(s) as (client, _):
        me, project = await _project_with_photos(client, s.database_url, ("coffee.jpg",), 0)
        assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202
        assert (await client.get("/api/me")).json()["creditBalance"] == 0
        clips = (await wait_clips_settled(client, project["id"], timeout=240))["clips"]
        assert clips[0]["status"] == "failed"
        assert "try again" in clips[0]["error"]
        assert (await client.get("/api/me")).json()["creditBalance"] == 1
        refunds = await sql(s.database_url, "SELECT amount, reference FROM credit_transactions WHERE kind = 'refund'")
        assert [(r["amount"], r["reference"]) for r in refunds] == [(1, f"clip:{clips[0]['id']}:gen:1")]

        await make_admin(s.database_url, me["id"])
        dead = (await client.get("/api/admin/failed-jobs")).json()
        assert [d["clipId"] for d in dead["items"]] == [clips[0]["id"]]
        assert "all_providers_failed" in (dead["items"][0]["detail"] or "") or dead["items"][0]["detail"]

        runway.down = False
        runpod.down = False
        await asyncio.sleep(1.1)  # the providers' circuit cool-down (1 s) must pass
        retried = await client.post(f"/api/admin/failed-jobs/{clips[0]['id']}/retry")
        assert retried.status_code == 202
        clips = (await wait_clips_settled(client, project["id"]))["clips"]
        assert clips[0]["status"] == "succeeded"
        assert (await client.get("/api/admin/failed-jobs")).json()["total"] == 0
        assert (await client.get("/api/me")).json()["creditBalance"] == 1


async def test_deleting_a_generating_clip_cancels_the_provider_task(
    settings: Settings, runway: RunwayFake, clean_db: None
) -> None:
    runway.hang = True
    s = provider_settings(settings, runway=runway, runpod=None)
    async with running(s) as (client, _):
        _, project = await _project_with_photos(client, s.database_url, ("rocket.jpg",), 1)
        await client.post(f"/api/projects/{project['id']}/generate")
        clip_id = (await client.get(f"/api/projects/{project['id']}")).json()["clips"][0]["id"]

        async def submitted() -> str | None:
            rows = await sql(s.database_url, "SELECT provider_job_id FROM clips")
            return rows[0]["provider_job_id"] if rows else None

        task_id = await wait_until(submitted, timeout=30)
        assert (await client.delete(f"/api/projects/{project['id']}/clips/{clip_id}")).status_code == 204

        def cancelled() -> bool:
            return any(r.method == "DELETE" and r.path == f"/v1/tasks/{task_id}" for r in runway.requests)

        await wait_until(lambda: asyncio.sleep(0, cancelled()), timeout=15)
        assert (await client.get("/api/me")).json()["creditBalance"] == 2, "an undelivered clip is refunded"


async def test_a_worker_killed_mid_generation_is_resumed_and_charges_once(
    settings: Settings, provider_output: Path, clean_db: None
) -> None:
    with RunwayFake(provider_output, pending_seconds=0, run_seconds=6) as runway:
        s = provider_settings(settings, runway=runway, runpod=None,
                              CLIP_JOB_HEARTBEAT_SECONDS="3", WORKER_SWEEP_SECONDS="1")
        env = {**os.environ, **_env_for(s)}
        async with AsyncTestClient(app=create_app(s)) as client:
            _, project = await _project_with_photos(client, s.database_url, ("coffee.jpg",), 0)
            first = await _spawn_worker(env)
            try:
                await client.post(f"/api/projects/{project['id']}/generate")

                async def generating() -> bool:
                    rows = await sql(s.database_url, "SELECT provider_job_id FROM clips")
                    return bool(rows and rows[0]["provider_job_id"])

                await wait_until(generating, timeout=60)
            finally:
                first.send_signal(signal.SIGKILL)
                await first.wait()
            second = await _spawn_worker(env)
            try:
                clips = (await wait_clips_settled(client, project["id"], timeout=120))["clips"]
            finally:
                second.send_signal(signal.SIGTERM)
                await second.wait()
        assert clips[0]["status"] == "succeeded"
        created = [r for r in runway.requests if r.method == "POST" and r.path == "/v1/image_to_video"]
        assert len(created) == 1, "the second worker resumed the task instead of paying for a new one"
        ledger = await sql(s.database_url, "SELECT kind, amount FROM credit_transactions ORDER BY created_at")
        assert [(r["kind"], r["amount"]) for r in ledger if r["kind"] in ("generation", "refund")] == [("generation", -1)]


def _env_for(s: Settings) -> dict[str, str]:
    return {
        "ECHOES_ENV": "test", "ECHOES_VAR_DIR": str(s.var_dir), "SECRET_KEY": s.secret_key,
        "DATABASE_URL": s.database_url, "REDIS_URL": s.redis_url, "QUEUE_PREFIX": s.queue_prefix,
        "MOTION_PROVIDERS": ",".join(s.motion_providers), "RUNWAY_API_KEY": s.runway_api_key,
        "RUNWAY_API_BASE": s.runway_api_base, "PROVIDER_POLL_SECONDS": "0.2",
        "CLIP_JOB_HEARTBEAT_SECONDS": str(s.clip_job_heartbeat_seconds),
        "WORKER_SWEEP_SECONDS": str(s.worker_sweep_seconds), "LOG_LEVEL": "WARNING",
        "OUTBOUND_ALLOW_LOOPBACK": "true",
    }


async def _spawn_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "worker", cwd=REPO_ROOT, env=env)



async def test_an_old_generations_job_can_neither_fail_refund_nor_be_resumed_by_the_new_one(
    settings: Settings, runway: RunwayFake, clean_db: None
) -> None:
    """A generation the system gave up on (the sweep failed it, refunded) whose job is in fact
    still around: a paid regeneration starts clean, and the old job's failure, its late run
    and its provider task change nothing of the new generation."""
    s = provider_settings(settings, runway=runway, runpod=None)
    resources = await WorkerResources.open(s)
    try:
        async with AsyncTestClient(app=create_app(s)) as client:
            _, project = await _project_with_photos(client, s.database_url, ("coffee.jpg",), 1)
            assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202
            clip_id = (await client.get(f"/api/projects/{project['id']}")).json()["clips"][0]["id"]
            cid = uuid.UUID(clip_id)
            # What the first generation's job left behind after submitting its provider task.
            await sql(s.database_url, "UPDATE clips SET status = 'generating', provider = 'runway', "
                      "provider_job_id = 'task-of-generation-1', attempts = 1")
            assert await mark_clip_failed(resources, cid, FAILED_FOR_GOOD, generation=1)
            await sql(s.database_url, f"UPDATE projects SET regenerations_used = {m.FREE_REGENERATIONS}")

            regenerated = await client.post(
                f"/api/projects/{project['id']}/clips/{clip_id}/regenerate", json={"prompt": "slow zoom"}
            )
            assert regenerated.status_code == 202, regenerated.text
            assert regenerated.json()["creditsSpent"] == 1
            rows = await sql(s.database_url, "SELECT status, generation, provider, provider_job_id, attempts FROM clips")
            assert [dict(r) for r in rows] == [
                {"status": "queued", "generation": 2, "provider": None, "provider_job_id": None, "attempts": 0}
            ]

            old_job = await resources.queues[QueueName.CLIPS].job(clip_job_key(cid, 1))
            assert old_job is not None and old_job.kwargs["generation"] == 1
            old_job.status, old_job.error = Status.FAILED, "the old attempt crashed"
            await after_clip_job({"job": old_job, "resources": resources})
            assert await generate_clip({"job": old_job, "resources": resources}, clip_id=clip_id, generation=1) == {
                "skipped": "generation 1 is not current (clip is queued, generation 2)"
            }
            rows = await sql(s.database_url, "SELECT status, generation, error_message FROM clips")
            assert [dict(r) for r in rows] == [{"status": "queued", "generation": 2, "error_message": None}]
            assert runway.count("POST") == 0

            async with started(build_workers(resources)):
                clips = (await wait_clips_settled(client, project["id"]))["clips"]
            assert clips[0]["status"] == "succeeded" and clips[0]["generation"] == 2
    finally:
        await resources.close()
    rows = await sql(s.database_url, "SELECT provider_job_id FROM clips")
    assert rows[0]["provider_job_id"] in runway.tasks, "a new task, not the old generation's"
    assert runway.count("POST", "/v1/image_to_video") == 1
    assert runway.count("GET", "/v1/tasks/task-of-generation-1") == 0
    ledger = await sql(s.database_url, "SELECT kind, amount, reference FROM credit_transactions "
                       "WHERE kind IN ('generation', 'regeneration', 'refund') ORDER BY created_at")
    assert [(r["kind"], r["amount"], r["reference"]) for r in ledger] == [
        ("generation", -1, f"clip:{clip_id}:gen:1"),
        ("refund", 1, f"clip:{clip_id}:gen:1"),
        ("regeneration", -1, f"clip:{clip_id}:gen:2"),
    ]


async def test_an_expired_output_url_is_fetched_again_instead_of_paying_another_provider(
    settings: Settings, provider_output: Path, runpod: RunpodFake, clean_db: None
) -> None:
    """Runway's output URLs are signed and expire. A download retried after a hiccup finds its
    URL expired: the finished task is read again for a fresh URL; Runpod is never asked."""
    with RunwayFake(provider_output, pending_seconds=0, run_seconds=0, output_ttl=0.3) as runway:
        runway.fail_next(503, path_prefix="/_outputs/")
        s = provider_settings(settings, runway=runway, runpod=runpod)
        async with running(s) as (client, _):
            _, project = await _project_with_photos(client, s.database_url, ("rocket.jpg",), 1)
            assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202
            clips = (await wait_clips_settled(client, project["id"]))["clips"]
        assert [(c["status"], c["provider"]) for c in clips] == [("succeeded", "runway")]
        assert runway.count("POST", "/v1/image_to_video") == 1
        assert runway.count("GET", "/_outputs/") == 3, "503, expired, then the fresh URL"
        assert runpod.count("POST") == 0
    ledger = await sql(s.database_url, "SELECT kind FROM credit_transactions WHERE kind = 'refund'")
    assert ledger == []
