"""Helpers for driving the API like a browser does (cookies, CSRF header, accounts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from api.db import models as m
from api.domain.accounts.auth import CSRF_HEADER
from api.domain.credits.services import CreditService

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


async def verify_email(database_url: str, user_id: str | uuid.UUID) -> None:
    """Mark the account's address verified and pay what waited for it, in one transaction,
    as the e-mail verification flow does."""
    uid = uuid.UUID(str(user_id))
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            await session.execute(
                sa.update(m.User).where(m.User.id == uid).values(email_verified_at=datetime.now(UTC))
            )
            await CreditService(session).grant_verification_bonuses(uid)
            await session.commit()
    finally:
        await engine.dispose()


async def make_admin(database_url: str, user_id: str) -> None:
    await sql(database_url, "UPDATE users SET role = 'admin' WHERE id = $1", uuid.UUID(user_id))
