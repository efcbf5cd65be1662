"""Log-in limits count failures only, per (e-mail, client network) and per client network,
so nobody can lock another person out of their account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from redis.asyncio import Redis

from tests.conftest import make_settings
from tests.integration.accounts.browsers import browser, log_in, running_app, sign_up
from tests.integration.helpers import PASSWORD

PER_EMAIL_AND_CLIENT = 3
PER_CLIENT = 8
WRONG = "not the password at all"


@pytest.fixture
async def limited(
    database_url: str, redis_url: str, queue_prefix: str, var_dir: Path, clean_db: None
) -> AsyncIterator[Litestar]:
    prefix = queue_prefix + "login-"
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=prefix, var_dir=var_dir,
        LOGIN_LIMIT_PER_15MIN=str(PER_EMAIL_AND_CLIENT), LOGIN_IP_LIMIT_PER_15MIN=str(PER_CLIENT),
    )
    async with running_app(settings) as app:
        yield app
    redis = Redis.from_url(redis_url)
    async for key in redis.scan_iter(match=f"{prefix}ratelimit:*"):
        await redis.delete(key)
    await redis.aclose()


async def _account(app: Litestar) -> str:
    """A new account, signed up from a network of its own."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    async with browser(app, ip="192.0.2.200") as tab:
        await sign_up(tab, email)
    return email


async def test_only_failures_count_and_a_success_clears_them(limited: Litestar) -> None:
    email = await _account(limited)
    async with browser(limited) as tab:
        for _ in range(2):
            for _ in range(PER_EMAIL_AND_CLIENT - 1):
                assert (await log_in(tab, email, WRONG)).status_code == 401
            assert (await log_in(tab, email)).status_code == 200
        for _ in range(PER_EMAIL_AND_CLIENT):
            assert (await log_in(tab, email, WRONG)).status_code == 401
        blocked = await log_in(tab, email)
        assert blocked.status_code == 429 and blocked.json()["code"] == "RATE_LIMITED"
        assert int(blocked.headers["retry-after"]) > 0


async def test_someone_hammering_an_email_from_elsewhere_cannot_lock_its_owner_out(
    limited: Litestar,
) -> None:
    email = await _account(limited)
    async with browser(limited, ip="203.0.113.50") as attacker, browser(limited, ip="198.51.100.20") as owner:
        answers = [(await log_in(attacker, email, WRONG)).status_code for _ in range(PER_CLIENT + 4)]
        assert answers[:PER_EMAIL_AND_CLIENT] == [401] * PER_EMAIL_AND_CLIENT
        assert set(answers[PER_EMAIL_AND_CLIENT:]) == {429}
        assert (await log_in(attacker, email)).status_code == 429
        assert (await log_in(owner, email)).status_code == 200


async def test_one_network_guessing_across_many_emails_is_limited(limited: Litestar) -> None:
    emails = [f"guess{i}@example.com" for i in range(PER_CLIENT + 1)]
    async with browser(limited, ip="2001:db8:5:6::1") as guesser, browser(limited, ip="2001:db8:5:6::2") as same_64:
        for email in emails[:PER_CLIENT]:
            assert (await log_in(guesser, email, WRONG)).status_code == 401
        assert (await log_in(guesser, emails[-1], WRONG)).status_code == 429
        assert (await log_in(same_64, emails[-1], WRONG)).status_code == 429
    async with browser(limited, ip="2001:db8:9::1") as elsewhere:
        assert (await log_in(elsewhere, emails[-1], WRONG)).status_code == 401


async def test_logging_in_to_ones_own_account_does_not_reopen_the_network_limit(
    limited: Litestar,
) -> None:
    mine = await _account(limited)
    async with browser(limited, ip="192.0.2.77") as tab:
        for i in range(PER_CLIENT):
            assert (await log_in(tab, mine, PASSWORD)).status_code == 200
            assert (await log_in(tab, f"victim{i}@example.com", WRONG)).status_code == 401
        assert (await log_in(tab, "another@example.com", WRONG)).status_code == 429
