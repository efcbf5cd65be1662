"""The credit ledger: race-free spending, idempotent kinds, append-only rows, admin tools."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.app import create_app
from api.db import models as m
from api.domain.credits.services import CreditService
from tests.conftest import make_settings
from tests.integration.helpers import PASSWORD, make_admin, sign_up, sql


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_two_hundred_concurrent_spends_of_fifty_credits_succeed_exactly_fifty_times(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> None:
    """200 real HTTP requests on separate connections against one API process and Postgres."""
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix,
        var_dir=var_dir, DATABASE_POOL_SIZE="20",
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes no event to await
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as admin_client, httpx.AsyncClient(base_url=base) as user_client:
            admin = await _signup(admin_client, "admin@example.com")
            await make_admin(database_url, admin["id"])
            user = await _signup(user_client, "spender@example.com")
            top_up = await admin_client.post(
                f"/api/admin/users/{user['id']}/credits", json={"amount": 49, "reason": "test balance"}
            )
            assert top_up.status_code == 201 and top_up.json()["balanceAfter"] == 50

            limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
            async with httpx.AsyncClient(
                base_url=base, cookies=admin_client.cookies, headers=admin_client.headers,
                limits=limits, timeout=60,
            ) as burst:
                started = time.perf_counter()
                responses = await asyncio.gather(
                    *(
                        burst.post(
                            f"/api/admin/users/{user['id']}/credits",
                            json={"amount": -1, "reason": f"spend {i}"},
                        )
                        for i in range(200)
                    )
                )
                elapsed = time.perf_counter() - started
        codes = [r.status_code for r in responses]
        assert codes.count(201) == 50, codes
        assert codes.count(402) == 150
        refused = next(r for r in responses if r.status_code == 402).json()
        assert refused["code"] == "INSUFFICIENT_CREDITS" and refused["missing"] == 1
        rows = await sql(
            database_url,
            "SELECT u.credit_balance, (SELECT sum(amount) FROM credit_transactions t WHERE t.user_id = u.id) AS total "
            "FROM users u WHERE u.id = $1",
            uuid.UUID(user["id"]),
        )
        assert rows[0]["credit_balance"] == 0
        assert rows[0]["total"] == 0
        print(f"\n200 concurrent spends from 50 credits: {elapsed:.2f}s, 50 succeeded, 150 refused")
    finally:
        server.should_exit = True
        await serving


async def _signup(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    token = (await client.get("/api/auth/csrf")).json()["token"]
    client.headers["x-csrf-token"] = token
    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()["user"]


@pytest.fixture
async def sessions(database_url: str) -> Any:
    engine = create_async_engine(database_url, pool_size=20)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _new_user(sessions: Any, balance: int = 0) -> uuid.UUID:
    async with sessions() as session:
        user = m.User(
            email=f"{uuid.uuid4().hex[:12]}@example.com", password_hash="x", display_name="T",
            role=m.UserRole.USER, credit_balance=0, credits_owed=0, referral_code=uuid.uuid4().hex[:8].upper(),
        )
        session.add(user)
        await session.flush()
        if balance:
            await CreditService(session).grant(user.id, balance, m.CreditKind.ADJUSTMENT, "setup")
        await session.commit()
        return user.id


async def test_idempotent_kinds_apply_once_even_concurrently(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions)
    video_id, clip_id = uuid.uuid4(), uuid.uuid4()

    async def share() -> bool:
        async with sessions() as session:
            granted = await CreditService(session).grant_share_reward(user_id, video_id)
            await session.commit()
            return granted

    async def refund() -> bool:
        async with sessions() as session:
            granted = await CreditService(session).refund_clip(user_id, clip_id)
            await session.commit()
            return granted

    shares = await asyncio.gather(*(share() for _ in range(10)), return_exceptions=True)
    refunds = await asyncio.gather(*(refund() for _ in range(10)), return_exceptions=True)
    assert [s for s in shares if s is True] == [True], shares
    assert [r for r in refunds if r is True] == [True], refunds
    assert not [x for x in (*shares, *refunds) if isinstance(x, BaseException)]
    async with sessions() as session:
        assert await CreditService(session).balance(user_id) == 2
        rows, total = await CreditService(session).history(user_id, limit=10, offset=0)
        assert total == 2 and {r.kind for r in rows} == {m.CreditKind.SHARE, m.CreditKind.REFUND}


async def test_take_up_to_never_goes_below_zero(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions, balance=3)
    async with sessions() as session:
        taken = await CreditService(session).take_up_to(user_id, 5, m.CreditKind.CHARGEBACK, "refund:ch_1")
        again = await CreditService(session).take_up_to(user_id, 5, m.CreditKind.CHARGEBACK, "refund:ch_1")
        await session.commit()
    assert (taken, again) == (3, 0)
    async with sessions() as session:
        assert await CreditService(session).balance(user_id) == 0


async def test_ledger_rows_are_append_only_and_balance_cannot_go_negative(
    database_url: str, sessions: Any, clean_db: None
) -> None:
    user_id = await _new_user(sessions, balance=2)
    with pytest.raises(asyncpg.exceptions.RestrictViolationError):
        await sql(database_url, "UPDATE credit_transactions SET amount = 100")
    with pytest.raises(asyncpg.exceptions.RestrictViolationError):
        await sql(database_url, "DELETE FROM credit_transactions")
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await sql(database_url, "UPDATE users SET credit_balance = -1 WHERE id = $1", user_id)


async def test_credit_history_is_paginated_newest_first(client: AsyncTestClient[Any], database_url: str) -> None:
    admin = (await sign_up(client, "boss@example.com"))["user"]
    await make_admin(database_url, admin["id"])
    for amount in (5, -2, 3):
        r = await client.post(f"/api/admin/users/{admin['id']}/credits", json={"amount": amount, "reason": "why not"})
        assert r.status_code == 201
    page = (await client.get("/api/credits", params={"limit": 2, "offset": 0})).json()
    assert page["balance"] == 1 + 5 - 2 + 3
    assert page["total"] == 4
    assert [i["amount"] for i in page["items"]] == [3, -2]
    rest = (await client.get("/api/credits", params={"limit": 2, "offset": 2})).json()
    assert [i["kind"] for i in rest["items"]] == ["adjustment", "signup_bonus"]
    assert (await client.get("/api/credits", params={"limit": 0})).status_code == 400


async def test_admin_endpoints_need_the_admin_role_and_reconcile_finds_drift(
    client: AsyncTestClient[Any], database_url: str
) -> None:
    user = (await sign_up(client))["user"]
    assert (await client.get("/api/admin/users")).status_code == 403
    await make_admin(database_url, user["id"])
    listing = (await client.get("/api/admin/users")).json()
    assert listing["total"] == 1 and listing["items"][0]["email"] == user["email"]
    too_much = await client.post(
        f"/api/admin/users/{user['id']}/credits", json={"amount": -5, "reason": "overdraw"}
    )
    assert too_much.status_code == 402 and too_much.json()["missing"] == 4
    assert (await client.post(f"/api/admin/users/{uuid.uuid4()}/credits", json={"amount": 1, "reason": "ghost"})).status_code == 404
    assert (await client.get("/api/admin/reconcile")).json()["ok"] is True
    await sql(database_url, "UPDATE users SET credit_balance = 7 WHERE id = $1", uuid.UUID(user["id"]))
    report = (await client.get("/api/admin/reconcile")).json()
    assert report["ok"] is False
    assert report["mismatches"] == [
        {"userId": user["id"], "email": user["email"], "balance": 7, "ledgerSum": 1}
    ]


async def test_packs_are_public_configuration(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/api/credits/packs")).json()
    assert [(p["credits"], p["priceCents"], p["currency"]) for p in body["packs"]] == [
        (5, 1500, "usd"), (20, 4500, "usd"), (40, 8000, "usd"),
    ]
    assert body["demoCheckout"] is True
    assert (await client.get("/api/credits")).status_code == 401
