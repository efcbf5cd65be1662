"""Sign up, log in, log out, /api/me, CSRF, rate limits and claiming the free try."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import make_settings
from tests.integration.helpers import PASSWORD, sign_up, sql, verify_email, with_csrf
from tests.paths import PHOTOS


async def test_signup_logs_in_and_grants_the_bonus_as_a_ledger_row_once_verified(
    client: AsyncTestClient[Any], database_url: str
) -> None:
    result = await sign_up(client, "Ada@Example.com", displayName="Ada")
    user = result["user"]
    assert user["email"] == "ada@example.com"
    assert user["displayName"] == "Ada"
    assert user["creditBalance"] == 0, "the sign-up bonus waits for a verified address"
    assert user["role"] == "user"
    assert len(user["referralCode"]) == 8
    me = await client.get("/api/me")
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert await sql(database_url, "SELECT kind FROM credit_transactions") == []
    await verify_email(database_url, user["id"])
    rows = await sql(database_url, "SELECT kind, amount, balance_after FROM credit_transactions")
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in rows] == [("signup_bonus", 1, 1)]
    cookie = client.cookies.get("echoes_session")
    assert cookie
    set_cookie = next(v for k, v in (await _fresh_login(client)).headers.multi_items() if k == "set-cookie")
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie


async def _fresh_login(client: AsyncTestClient[Any]) -> Any:
    me = (await client.get("/api/me")).json()
    return await client.post("/api/auth/login", json={"email": me["email"], "password": PASSWORD})


async def test_signup_claims_the_visitors_free_try_clip(client: AsyncTestClient[Any], database_url: str) -> None:
    photo = (PHOTOS / "chelsea.jpg").read_bytes()
    tried = await client.post("/api/try", files={"photo": ("c.jpg", photo, "image/jpeg")})
    assert tried.status_code == 202
    result = await sign_up(client)
    assert result["claimedClipIds"] == [tried.json()["id"]]
    rows = await sql(database_url, "SELECT user_id::text, watermarked FROM clips")
    assert rows[0]["user_id"] == result["user"]["id"]
    assert rows[0]["watermarked"] is True


async def test_taken_email_weak_password_and_bad_email_are_clear_errors(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "taken@example.com")
    client.cookies.pop("echoes_session", None)
    taken = await client.post("/api/auth/signup", json={"email": "TAKEN@example.com", "password": PASSWORD})
    assert taken.status_code == 409 and taken.json()["code"] == "EMAIL_TAKEN"
    weak = await client.post("/api/auth/signup", json={"email": "new@example.com", "password": "password123"})
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    short = await client.post("/api/auth/signup", json={"email": "new@example.com", "password": "short"})
    assert short.status_code == 422 and "at least 10" in short.json()["detail"]
    bad = await client.post("/api/auth/signup", json={"email": "not-an-email", "password": PASSWORD})
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    missing = await client.post("/api/auth/signup", json={"email": "x@example.com"})
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_INPUT"


async def test_wrong_password_and_unknown_email_get_the_same_answer(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "known@example.com")
    await client.post("/api/auth/logout")
    wrong = await client.post("/api/auth/login", json={"email": "known@example.com", "password": "nope nope nope"})
    unknown = await client.post("/api/auth/login", json={"email": "ghost@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["code"] == "INVALID_CREDENTIALS"
    ok = await client.post("/api/auth/login", json={"email": "KNOWN@example.com", "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["email"] == "known@example.com"


async def test_logout_ends_the_session(client: AsyncTestClient[Any]) -> None:
    await sign_up(client)
    assert (await client.get("/api/me")).status_code == 200
    assert (await client.post("/api/auth/logout")).status_code == 204
    me = await client.get("/api/me")
    assert me.status_code == 401
    assert me.json()["code"] == "NOT_AUTHENTICATED"


async def test_unsafe_requests_without_the_csrf_token_are_refused(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/auth/signup", json={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["code"] == "CSRF_FAILED"
    await with_csrf(client)
    client.headers["x-csrf-token"] = "forged"
    forged = await client.post("/api/auth/signup", json={"email": "a@example.com", "password": PASSWORD})
    assert forged.status_code == 403


async def test_signup_and_login_are_rate_limited(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> None:
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix + "rl-",
        var_dir=var_dir, SIGNUP_LIMIT_PER_HOUR="2", LOGIN_LIMIT_PER_15MIN="2",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        await with_csrf(client)
        for i in range(2):
            r = await client.post("/api/auth/signup", json={"email": f"rl{i}@example.com", "password": PASSWORD})
            assert r.status_code == 201
        third = await client.post("/api/auth/signup", json={"email": "rl3@example.com", "password": PASSWORD})
        assert third.status_code == 429 and third.json()["code"] == "RATE_LIMITED"
        assert int(third.headers["retry-after"]) > 0
        for _ in range(2):
            r = await client.post("/api/auth/login", json={"email": "rl0@example.com", "password": "wrong guess!"})
            assert r.status_code == 401
        blocked = await client.post("/api/auth/login", json={"email": "rl0@example.com", "password": PASSWORD})
        assert blocked.status_code == 429
        assert "minutes" in blocked.json()["detail"] or "seconds" in blocked.json()["detail"]
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    async for key in redis.scan_iter(match=f"{queue_prefix}rl-ratelimit:*"):
        await redis.delete(key)
    await redis.aclose()


async def test_referral_code_links_the_accounts(client: AsyncTestClient[Any], database_url: str) -> None:
    referrer = (await sign_up(client))["user"]
    await client.post("/api/auth/logout")
    client.cookies.clear()
    referred = await sign_up(client, referralCode=referrer["referralCode"].lower())
    assert referred["referralApplied"] is True
    rows = await sql(database_url, "SELECT referred_by_id::text FROM users WHERE id::text = $1", referred["user"]["id"])
    assert rows[0]["referred_by_id"] == referrer["id"]
    client.cookies.clear()
    nobody = await sign_up(client, referralCode="NOSUCHCODE")
    assert nobody["referralApplied"] is False
