"""A real API server (uvicorn, in this event loop) for streaming tests: Litestar's test
client buffers response bodies, so Server-Sent Events are read over real sockets."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from redis.asyncio import Redis

from api.app import create_app
from api.config import Settings
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.events import EventHub
from api.security.keys import Keys
from tests.conftest import make_settings
from tests.integration.helpers import PASSWORD

HEARTBEAT_SECONDS = 0.3


@dataclass
class ApiServer:
    url: str
    app: Litestar
    settings: Settings

    @property
    def hub(self) -> EventHub:
        return self.app.state.event_hub

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10, **kwargs)

    def visitor_cookie(self, visitor_id: uuid.UUID) -> str:
        return VisitorIdentity(Keys.derive(self.settings.secret_key), secure_cookie=False).cookie_value(visitor_id)

    def visitor_client(self, visitor_id: uuid.UUID | None = None) -> tuple[httpx.AsyncClient, uuid.UUID]:
        """A client carrying a validly signed visitor cookie, as after a free try."""
        visitor_id = visitor_id or uuid.uuid4()
        return self.client(cookies={VISITOR_COOKIE: self.visitor_cookie(visitor_id)}), visitor_id


async def signed_up(server: ApiServer, email: str | None = None) -> tuple[httpx.AsyncClient, uuid.UUID]:
    """A client signed in as a new user, and that user's id."""
    client = server.client()
    token = (await client.get("/api/auth/csrf")).json()["token"]
    client.headers["x-csrf-token"] = token
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return client, uuid.UUID(response.json()["user"]["id"])


@pytest.fixture
async def api_server(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> AsyncIterator[ApiServer]:
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        SSE_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
    )
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="on")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    try:
        yield ApiServer(url=f"http://127.0.0.1:{port}", app=app, settings=settings)
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()
