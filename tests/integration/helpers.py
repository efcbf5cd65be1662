"""Helpers for driving the API like a browser does (cookies, CSRF header, accounts)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.domain.accounts.auth import CSRF_HEADER

PASSWORD = "correct horse battery staple"


async def with_csrf(client: AsyncTestClient[Any]) -> str:
    """Fetch the CSRF token (setting its cookie) and send it on every later request."""
    token = (await client.get("/api/auth/csrf")).json()["token"]
    client.headers[CSRF_HEADER] = token
    return token


async def sign_up(
    client: AsyncTestClient[Any], email: str | None = None, **extra: Any
) -> dict[str, Any]:
    await with_csrf(client)
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def sql(database_url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def make_admin(database_url: str, user_id: str) -> None:
    await sql(database_url, "UPDATE users SET role = 'admin' WHERE id = $1", uuid.UUID(user_id))
