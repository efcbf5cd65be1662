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
import sqlalchemy as sa
import uvicorn
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.app import create_app
from api.db import models as m
from api.domain.credits.services import CreditService
from tests.conftest import make_settings
from tests.integration.helpers import PASSWORD, make_admin, sign_up, sql, verify_email


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
            await verify_email(database_url, user["id"])
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


async def _project(sessions: Any, user_id: uuid.UUID, *, clips: int = 1) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A project with ``clips`` succeeded clips, none of them charged for yet."""
    async with sessions() as session:
        project = m.Project(user_id=user_id, title="Garden", aspect="16:9", regenerations_used=0)
        session.add(project)
        await session.flush()
        clip_ids = []
        for position in range(clips):
            photo = m.Photo(
                user_id=user_id, storage_key=f"p/{uuid.uuid4()}", thumbnail_key=f"t/{uuid.uuid4()}",
                width=10, height=10, source_format="jpeg", size_bytes=1,
            )
            session.add(photo)
            await session.flush()
            clip = m.Clip(
                kind=m.ClipKind.PROJECT, status=m.ClipStatus.SUCCEEDED, progress=1.0, photo_id=photo.id,
                user_id=user_id, project_id=project.id, position=position, generation=1, attempts=0,
            )
            session.add(clip)
            await session.flush()
            clip_ids.append(clip.id)
        await session.commit()
        return project.id, clip_ids


async def _charge(sessions: Any, user_id: uuid.UUID, clip_id: uuid.UUID, *, refunded: bool = False) -> None:
    async with sessions() as session:
        credits = CreditService(session)
        await credits.grant(user_id, 1, m.CreditKind.ADJUSTMENT, f"top-up:{clip_id}")
        await credits.spend_batch(user_id, [f"clip:{clip_id}:gen:1"], m.CreditKind.GENERATION)
        if refunded:
            await credits.refund_clip_generation(user_id, clip_id, 1, 1)
        await session.commit()


async def _share_reward(sessions: Any, user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    async with sessions() as session:
        granted = await CreditService(session).grant_share_reward(user_id, project_id)
        await session.commit()
        return granted


async def test_share_reward_is_paid_once_per_project_even_concurrently(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions)
    project_id, [clip_id] = await _project(sessions, user_id)
    await _charge(sessions, user_id, clip_id)

    shares = await asyncio.gather(*(_share_reward(sessions, user_id, project_id) for _ in range(10)), return_exceptions=True)
    assert shares.count(True) == 1, shares
    assert not [x for x in shares if isinstance(x, BaseException)]
    assert await _share_reward(sessions, user_id, project_id) is False
    async with sessions() as session:
        rows, _ = await CreditService(session).history(user_id, limit=10, offset=0)
    assert [(r.kind, r.amount, r.reference) for r in rows if r.kind == m.CreditKind.SHARE] == [
        (m.CreditKind.SHARE, 1, f"project:{project_id}")
    ]


async def test_share_reward_needs_clips_paid_for_with_credits(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions)
    never_charged, _ = await _project(sessions, user_id, clips=2)
    refunded, [refunded_clip] = await _project(sessions, user_id)
    await _charge(sessions, user_id, refunded_clip, refunded=True)
    someone_elses, [their_clip] = await _project(sessions, user_id)
    other_user = await _new_user(sessions)
    await _charge(sessions, other_user, their_clip)

    assert await _share_reward(sessions, user_id, never_charged) is False
    assert await _share_reward(sessions, user_id, refunded) is False
    assert await _share_reward(sessions, user_id, someone_elses) is False
    async with sessions() as session:
        kinds = {r.kind for r in (await CreditService(session).history(user_id, limit=50, offset=0))[0]}
    assert m.CreditKind.SHARE not in kinds


async def test_a_project_rewarded_per_video_before_is_not_rewarded_again(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions)
    project_id, [clip_id] = await _project(sessions, user_id)
    await _charge(sessions, user_id, clip_id)
    async with sessions() as session:
        render = m.Render(
            project_id=project_id, user_id=user_id, status=m.RenderStatus.SUCCEEDED, progress=1.0,
            watermarked=False, title="Garden",
        )
        session.add(render)
        await session.flush()
        await CreditService(session).grant(user_id, 1, m.CreditKind.SHARE, f"video:{render.id}")
        await session.commit()
    assert await _share_reward(sessions, user_id, project_id) is False


async def test_idempotent_kinds_apply_once_even_concurrently(sessions: Any, clean_db: None) -> None:
    user_id = await _new_user(sessions)
    project_id, [charged_clip] = await _project(sessions, user_id)
    await _charge(sessions, user_id, charged_clip)
    clip_id = uuid.uuid4()

    async def share() -> bool:
        return await _share_reward(sessions, user_id, project_id)

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
        assert total == 4 and {r.kind for r in rows} == {
            m.CreditKind.ADJUSTMENT, m.CreditKind.GENERATION, m.CreditKind.SHARE, m.CreditKind.REFUND,
        }


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
    await verify_email(database_url, admin["id"])
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
    await verify_email(database_url, user["id"])
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


# -- bonuses that wait for a verified e-mail address ----------------------------------------


async def _verify(sessions: Any, user_id: uuid.UUID) -> list[m.CreditTransaction]:
    async with sessions() as session:
        await session.execute(
            sa.update(m.User).where(m.User.id == user_id).values(email_verified_at=sa.func.now())
        )
        rows = await CreditService(session).grant_verification_bonuses(user_id)
        await session.commit()
        return rows


async def test_sign_up_grants_no_bonus_until_the_address_is_verified(
    client: AsyncTestClient[Any], database_url: str
) -> None:
    user = (await sign_up(client))["user"]
    assert user["creditBalance"] == 0
    assert await sql(database_url, "SELECT kind FROM credit_transactions") == []

    await verify_email(database_url, user["id"])
    await verify_email(database_url, user["id"])

    assert (await client.get("/api/me")).json()["creditBalance"] == 1
    rows = await sql(database_url, "SELECT kind, amount, reference FROM credit_transactions")
    assert [(r["kind"], r["amount"], r["reference"]) for r in rows] == [("signup_bonus", 1, "signup")]


async def test_verification_bonuses_do_nothing_for_an_unverified_account_and_apply_once(
    sessions: Any, clean_db: None
) -> None:
    user_id = await _new_user(sessions)
    async with sessions() as session:
        assert await CreditService(session).grant_verification_bonuses(user_id) == []
        await session.commit()
    first = await asyncio.gather(*(_verify(sessions, user_id) for _ in range(5)), return_exceptions=True)
    assert not [x for x in first if isinstance(x, BaseException)], first
    assert sorted(len(rows) for rows in first) == [0, 0, 0, 0, 1]
    async with sessions() as session:
        assert await CreditService(session).balance(user_id) == 1
