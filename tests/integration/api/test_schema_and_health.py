"""What the schema and the health check tell whom: everything in development, in production
the schema to nobody and the health details to administrators only. And what the schema
declares: problem-details error bodies and the multipart upload bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.openapi import PROBLEM_JSON
from tests.conftest import make_settings
from tests.integration.helpers import make_admin, sign_up


def _vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
async def production(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        ECHOES_ENV="production",
        STRIPE_SECRET_KEY="sk_test_fuzz",
        STRIPE_WEBHOOK_SECRET="whsec_test",
        VAPID_PRIVATE_KEY=_vapid_pem(),
        VAPID_SUBJECT="mailto:ops@example.com",
        OUTBOUND_ALLOW_LOOPBACK="false",
        PUBLIC_URL="https://echoes.example",
    )
    # Production cookies are Secure: the client must speak https for them to come back.
    async with AsyncTestClient(app=create_app(settings), base_url="https://testserver.local") as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/api/schema", "/api/schema/openapi.json", "/api/schema/swagger", "/api/schema/openapi.yaml"]
)
async def test_schema_is_not_served_in_production(production: AsyncTestClient[Any], path: str) -> None:
    response = await production.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert "paths" not in response.text


async def test_schema_is_served_outside_production(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/health" in response.json()["paths"]


async def test_production_health_shows_visitors_only_the_status(production: AsyncTestClient[Any]) -> None:
    response = await production.get("/api/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status"}


async def test_production_health_shows_signed_in_non_admins_only_the_status(
    production: AsyncTestClient[Any],
) -> None:
    await sign_up(production)
    assert set((await production.get("/api/health")).json()) == {"status"}


async def test_production_health_shows_admins_the_components(
    production: AsyncTestClient[Any], database_url: str
) -> None:
    me = await sign_up(production)
    await make_admin(database_url, me["user"]["id"])
    body = (await production.get("/api/health")).json()
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True
    assert "workers" in body["worker"]


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


async def test_every_error_response_is_declared_as_problem_details(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert "default" in responses, (path, method)
        for status, response in responses.items():
            if status == "default" or status[0] in "45":
                assert list(response["content"]) == [PROBLEM_JSON], (path, method, status)
                assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}


async def test_upload_routes_declare_their_multipart_bodies(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    expected = {"UploadProjectPhotos": {"photos"}, "UploadMusic": {"track"}, "CreateFreeTry": {"photo"}}
    for operation_id, required in expected.items():
        content = by_id[operation_id]["requestBody"]["content"]
        ref = content["multipart/form-data"]["schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(body["required"]) == required, operation_id


async def test_a_declared_error_really_has_the_declared_body(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/projects/not-a-uuid/photos")
    assert response.status_code >= 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert {"type", "title", "status", "detail", "code"} <= set(response.json())


async def test_options_on_an_admin_route_is_not_a_server_error(client: AsyncTestClient[Any]) -> None:
    """Found by the schema fuzz run: the admin guard read ``connection.user`` on the OPTIONS
    answer, where authentication does not run, and answered 500."""
    await sign_up(client)
    response = await client.options("/api/admin/users")
    assert response.status_code < 500


async def test_no_content_answers_declare_no_body(client: AsyncTestClient[Any]) -> None:
    """Found by the fuzz run: Litestar declared a JSON ``null`` body for 204 answers."""
    schema = (await client.get("/api/schema/openapi.json")).json()
    no_content = [
        (path, method, op["responses"]["204"])
        for path, method, op in _operations(schema)
        if "204" in op["responses"]
    ]
    assert no_content
    for path, method, response in no_content:
        assert "content" not in response, (path, method)


async def test_account_export_declares_its_zip(client: AsyncTestClient[Any]) -> None:
    """Found by the fuzz run: the export streamed ``application/zip`` but declared JSON."""
    schema = (await client.get("/api/schema/openapi.json")).json()
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    assert list(by_id["ExportAccount"]["responses"]["200"]["content"]) == ["application/zip"]


async def test_text_postgres_cannot_store_is_invalid_input_not_a_server_error(
    client: AsyncTestClient[Any],
) -> None:
    """Found by the fuzz run: a NUL character in a JSON string reached Postgres and the
    request answered 500."""
    await sign_up(client)
    response = await client.request("DELETE", "/api/push/subscriptions", json={"endpoint": "https://push.example/a\u0000b"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] == "INVALID_INPUT"
