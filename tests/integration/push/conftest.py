from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.fakes.push_service import Browser, PushServiceFake
from tests.integration.helpers import sign_up


@pytest.fixture
def push_service() -> Iterator[PushServiceFake]:
    with PushServiceFake() as fake:
        yield fake


async def signed_up_user(client: AsyncTestClient[Any]) -> uuid.UUID:
    return uuid.UUID((await sign_up(client))["user"]["id"])


async def subscribe(client: AsyncTestClient[Any], browser: Browser, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/push/subscriptions", json=browser.subscription_json(**extra))
    assert response.status_code == 201, response.text
    return response.json()


async def application_server_key(client: AsyncTestClient[Any]) -> str:
    return (await client.get("/api/push/key")).json()["publicKey"]
