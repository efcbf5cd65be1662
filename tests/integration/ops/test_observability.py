"""What operators see: request ids end to end, Prometheus metrics, and readiness."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import Settings
from api.jobs import QueueName, Queues, clip_job_key
from tests.conftest import make_settings
from tests.integration.conftest import wait_until
from tests.integration.helpers import sql
from tests.paths import PHOTOS


async def test_every_response_carries_a_request_id(client: AsyncTestClient[Any]) -> None:
    first = await client.get("/api/health")
    second = await client.get("/api/health")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("req-2f1c9a7e-42", True), ("a" * 128, True), ("short", False), ("bad id with spaces", False),
     ("a" * 129, False), ("x\u00e9y12345678", False)],
)
async def test_a_sane_caller_request_id_is_kept_and_anything_else_replaced(
    client: AsyncTestClient[Any], given: str, kept: bool
) -> None:
    response = await client.get("/api/health", headers={"X-Request-ID": given.encode("utf-8")})
    assert (response.headers["x-request-id"] == given) is kept
    assert len(response.headers["x-request-id"]) >= 8


async def test_the_request_id_rides_along_into_the_job_it_queues(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    photo = PHOTOS / "chelsea.jpg"
    response = await client.post(
        "/api/try", files={"photo": ("chelsea.jpg", photo.read_bytes(), "image/jpeg")},
        headers={"X-Request-ID": "trace-0123456789"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["x-request-id"] == "trace-0123456789"
    clip_id = response.json()["id"]
    rows = await sql(database_url, "SELECT generation FROM clips WHERE id = $1::uuid", clip_id)
    generation = rows[0]["generation"]
    queues = Queues(settings.redis_url, prefix=settings.queue_prefix)
    await queues.connect()
    try:
        job = await queues[QueueName.CLIPS].job(clip_job_key(clip_id, generation))
        assert job is not None
        assert job.meta == {"request_id": "trace-0123456789"}
    finally:
        await queues.disconnect()


async def test_metrics_show_http_queues_and_business_totals(client: AsyncTestClient[Any]) -> None:
    await client.get("/api/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in ("echoes_requests_total", "echoes_queue_depth{queue=\"clips\"}",
                 "echoes_queue_oldest_age_seconds", "echoes_signups", "echoes_job_duration_seconds",
                 "echoes_provider_circuit_open_seconds{provider=\"local\"} 0.0"):
        assert name in text, name


async def test_queue_depth_and_age_count_waiting_jobs(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    photo = PHOTOS / "chelsea.jpg"
    response = await client.post("/api/try", files={"photo": ("c.jpg", photo.read_bytes(), "image/jpeg")})
    assert response.status_code == 202, response.text
    text = (await client.get("/metrics")).text
    depth = next(line for line in text.splitlines() if line.startswith('echoes_queue_depth{queue="clips"}'))
    assert float(depth.split()[-1]) >= 1
    age = next(line for line in text.splitlines() if line.startswith('echoes_queue_oldest_age_seconds{queue="clips"}'))
    assert 0 <= float(age.split()[-1]) < 120


async def test_a_finished_job_is_counted_by_task(
    client: AsyncTestClient[Any], worker: Any
) -> None:
    photo = PHOTOS / "chelsea.jpg"
    created = (await client.post("/api/try", files={"photo": ("c.jpg", photo.read_bytes(), "image/jpeg")})).json()

    async def done() -> bool:
        return (await client.get(f"/api/try/{created['id']}")).json()["status"] in ("succeeded", "failed")

    await wait_until(done, timeout=120)
    text = (await client.get("/metrics")).text
    assert 'echoes_job_duration_seconds_count{outcome="complete",task="generate_clip"}' in text


@pytest.fixture
def production_metrics_settings(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Any
) -> Settings:
    return make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        METRICS_TOKEN="m" * 40,
    )


async def test_metrics_need_the_token_when_one_is_set(
    production_metrics_settings: Settings, clean_db: None
) -> None:
    async with AsyncTestClient(app=create_app(production_metrics_settings)) as client:
        assert (await client.get("/metrics")).status_code == 404
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "n" * 40})
        assert wrong.status_code == 404
        right = await client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40})
        assert right.status_code == 200


async def test_ready_when_database_redis_and_storage_answer(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": True, "redis": True, "storage": True}


async def test_not_ready_while_the_database_is_unreachable(
    redis_url: str, queue_prefix: str, var_dir: Any
) -> None:
    settings = make_settings(
        database_url="postgresql://postgres@127.0.0.1:9/nowhere", redis_url=redis_url,
        queue_prefix=queue_prefix, var_dir=var_dir,
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/api/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False
    assert response.json()["checks"]["redis"] is True
