"""The demo checkout (no Stripe key): a labelled page whose plain form posts go through the
real webhook verification and processing."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.config import ConfigurationError, Settings, load_or_create_vapid_key
from api.domain.accounts.auth import CSRF_HEADER
from tests.conftest import make_settings
from tests.integration.helpers import sign_up, sql
from tests.integration.payments import assert_ledger_matches_balances

_TOKEN_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
async def ledger_matches_balances(database_url: str, clean_db: None) -> AsyncIterator[None]:
    yield
    await assert_ledger_matches_balances(database_url)


async def _start(client: AsyncTestClient[Any], pack: str = "starter") -> dict[str, Any]:
    response = await client.post("/api/credits/checkout", json={"pack": pack})
    assert response.status_code == 201, response.text
    return response.json()


async def _page(client: AsyncTestClient[Any], started: dict[str, Any]) -> tuple[str, str]:
    """GET the demo page like a browser following the checkout URL: (path, CSRF token)."""
    path = urlsplit(started["url"]).path
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = _TOKEN_RE.search(page.text)
    assert match is not None, "the page carries the CSRF token for its forms"
    return path, match.group(1)


async def _balance(database_url: str, user_id: str) -> int:
    rows = await sql(database_url, "SELECT credit_balance FROM users WHERE id = $1", uuid.UUID(user_id))
    return rows[0]["credit_balance"]


async def _purchase(database_url: str, session_id: str) -> dict[str, Any]:
    rows = await sql(database_url, "SELECT * FROM purchases WHERE checkout_session_id = $1", session_id)
    return dict(rows[0])


async def test_demo_checkout_end_to_end_through_http(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    assert settings.demo_checkout
    user = (await sign_up(client))["user"]
    started = await _start(client, "starter")
    session_id = started["sessionId"]
    assert started["demo"] is True and session_id.startswith("cs_demo_")
    assert started["url"] == f"{settings.public_url}/api/credits/demo-checkout/{session_id}"

    page = await client.get(urlsplit(started["url"]).path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    for text in ("Demo checkout — no real payment is taken", "Starter", "$15.00", ">Pay ", ">Cancel<"):
        assert text in page.text, text
    path, token = await _page(client, started)

    del client.headers[CSRF_HEADER]
    paid = await client.post(path, data={"_csrf_token": token, "action": "pay"}, follow_redirects=False)

    assert paid.status_code == 303, paid.text
    assert paid.headers["location"] == f"{settings.public_url}/credits?checkout=success&session_id={session_id}"
    assert await _balance(database_url, user["id"]) == 5, "an unverified account has no sign-up bonus"
    ledger = await sql(
        database_url, "SELECT kind, amount, reference FROM credit_transactions WHERE user_id = $1 AND kind = 'purchase'",
        uuid.UUID(user["id"]),
    )
    assert [(r["kind"], r["amount"], r["reference"]) for r in ledger] == [("purchase", 5, session_id)]
    purchase = await _purchase(database_url, session_id)
    assert (purchase["status"], purchase["demo"], purchase["credits_granted"]) == ("paid", True, True)
    assert purchase["payment_intent_id"] == "pi_demo_" + session_id.removeprefix("cs_demo_")
    events = await sql(database_url, "SELECT id, type FROM stripe_events")
    assert [r["type"] for r in events] == ["checkout.session.completed"], "it went through the webhook path"
    assert events[0]["id"].startswith("evt_demo_")

    again = await client.post(path, data={"_csrf_token": token, "action": "pay"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == paid.headers["location"]
    assert await _balance(database_url, user["id"]) == 5
    done = await client.get(path)
    assert "This checkout is complete" in done.text and "_csrf_token" not in done.text


async def test_cancelling_the_demo_checkout_expires_the_purchase_and_grants_nothing(
    client: AsyncTestClient[Any], settings: Settings, database_url: str
) -> None:
    user = (await sign_up(client))["user"]
    started = await _start(client, "family")
    path, token = await _page(client, started)

    cancelled = await client.post(path, data={"_csrf_token": token, "action": "cancel"}, follow_redirects=False)

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"{settings.public_url}/credits?checkout=cancelled"
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "expired"
    assert await _balance(database_url, user["id"]) == 0
    assert [r["type"] for r in await sql(database_url, "SELECT type FROM stripe_events")] == ["checkout.session.expired"]


async def test_another_users_demo_checkout_answers_404(
    client: AsyncTestClient[Any], database_url: str
) -> None:
    await sign_up(client)
    started = await _start(client)
    path, token = await _page(client, started)

    intruder = (await sign_up(client))["user"]
    assert (await client.get(path)).status_code == 404
    posted = await client.post(path, data={"_csrf_token": token, "action": "pay"}, follow_redirects=False)
    assert posted.status_code == 404 and posted.json()["code"] == "NOT_FOUND"
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"
    assert await _balance(database_url, intruder["id"]) == 0


async def test_demo_form_post_without_its_csrf_token_is_refused(
    client: AsyncTestClient[Any], database_url: str
) -> None:
    await sign_up(client)
    started = await _start(client)
    path, _ = await _page(client, started)
    del client.headers[CSRF_HEADER]

    refused = await client.post(path, data={"action": "pay"}, follow_redirects=False)

    assert refused.status_code == 403 and refused.json()["code"] == "CSRF_FAILED"
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"


async def test_demo_checkout_is_gone_once_a_stripe_key_is_configured(
    client: AsyncTestClient[Any], database_url: str, redis_url: str, queue_prefix: str, var_dir: Path
) -> None:
    """A demo purchase left from development can never be paid for free in production."""
    await sign_up(client)
    started = await _start(client)
    path, token = await _page(client, started)
    stripe_settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        STRIPE_SECRET_KEY="sk_test_configured", STRIPE_WEBHOOK_SECRET="whsec_configured",
    )
    async with AsyncTestClient(app=create_app(stripe_settings)) as production:
        production.cookies = client.cookies
        production.headers[CSRF_HEADER] = client.headers[CSRF_HEADER]
        assert (await production.get(path)).status_code == 404
        posted = await production.post(path, data={"_csrf_token": token, "action": "pay"}, follow_redirects=False)
        assert posted.status_code == 404
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"


def _production_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    return {
        "ECHOES_ENV": "production",
        "ECHOES_VAR_DIR": str(var_dir),
        "SECRET_KEY": "production-secret-" + "y" * 32,
        "VAPID_PRIVATE_KEY": load_or_create_vapid_key(var_dir / "vapid_private_key.pem"),
        "VAPID_SUBJECT": "mailto:ops@example.com",
        "STRIPE_SECRET_KEY": "sk_live_configured",
        "STRIPE_WEBHOOK_SECRET": "whsec_configured",
        "DATABASE_URL": "postgresql://echoes@db.internal/echoes",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "PUBLIC_URL": "https://echoes.example.com",
        **overrides,
    }


@pytest.mark.parametrize(
    "missing", [("STRIPE_SECRET_KEY",), ("STRIPE_WEBHOOK_SECRET",), ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")],
    ids=["no-secret-key", "no-webhook-secret", "neither"],
)
def test_production_refuses_to_start_without_both_stripe_settings(tmp_path: Path, missing: tuple[str, ...]) -> None:
    env = _production_env(tmp_path)
    for name in missing:
        del env[name]
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    for name in missing:
        assert name in str(refused.value)
    configured = Settings.from_env(_production_env(tmp_path))
    assert configured.demo_checkout is False and configured.stripe_livemode is True


async def test_demo_checkout_routes_are_not_mounted_in_production(
    client: AsyncTestClient[Any], database_url: str, redis_url: str, queue_prefix: str, var_dir: Path,
    tmp_path: Path,
) -> None:
    path = "/api/credits/demo-checkout/cs_demo_" + "0" * 32
    assert (await client.get(path)).status_code == 401, "mounted (behind log-in) outside production"

    production_settings = Settings.from_env(
        _production_env(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_url, QUEUE_PREFIX=queue_prefix)
    )
    async with AsyncTestClient(app=create_app(production_settings)) as production:
        assert (await production.get(path)).status_code == 404
        assert (await production.post(path, data={"action": "pay"})).status_code == 404
        packs = await production.get("/api/credits/packs")
        assert packs.status_code == 200 and packs.json()["demoCheckout"] is False


def test_the_generated_webhook_secret_file_holds_the_whole_whsec_value(tmp_path: Path) -> None:
    env = {"ECHOES_ENV": "development", "ECHOES_VAR_DIR": str(tmp_path), "SECRET_KEY": "k" * 40}
    created = Settings.from_env(env).stripe_webhook_secret
    stored = (tmp_path / "stripe_webhook_secret").read_text().strip()
    assert created.startswith("whsec_") and stored == created
    assert Settings.from_env(env).stripe_webhook_secret == created

    (tmp_path / "stripe_webhook_secret").write_text("oldSecretWithoutPrefix\n")
    assert Settings.from_env(env).stripe_webhook_secret == "whsec_oldSecretWithoutPrefix"
    assert (tmp_path / "stripe_webhook_secret").read_text().strip() == "whsec_oldSecretWithoutPrefix"
