"""Health, OpenAPI, problem details and the migrations, against real Postgres and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from api.app import create_app
from api.db.migrate import schema_diff
from tests.conftest import make_settings
from tests.integration.conftest import wait_until


async def test_health_reports_database_redis_and_worker(client: AsyncTestClient[Any], worker: Any) -> None:
    async def worker_seen() -> dict[str, Any] | None:
        body = (await client.get("/api/health")).json()
        return body if body["worker"]["ok"] else None

    body = await wait_until(worker_seen, timeout=10)
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True
    assert body["worker"]["workers"]["clips"] >= 1
    assert body["worker"]["ok"] is True
    assert body["status"] == "ok"


async def test_health_without_worker_is_degraded_but_serving(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path
) -> None:
    lonely = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix + "noworker-",
        var_dir=var_dir,
    )
    async with AsyncTestClient(app=create_app(lonely)) as client:
        response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["worker"]["ok"] is False
    assert body["status"] == "degraded"


async def test_every_route_has_an_operation_id(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    missing = [(p, m) for p, m, op in operations if not op.get("operationId")]
    assert missing == []
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))


async def test_unknown_route_is_problem_json(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "NOT_FOUND"


async def test_models_and_migrations_agree(database_url: str) -> None:
    """The session database was built only by the migrations; the models must match it."""
    assert await schema_diff(database_url) == []
