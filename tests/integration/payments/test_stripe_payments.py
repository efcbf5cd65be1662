"""Stripe Checkout and the webhook, with the real ``stripe`` library talking to a local fake.

The app is configured like production (``STRIPE_SECRET_KEY``, ``STRIPE_WEBHOOK_SECRET``)
with ``STRIPE_API_BASE`` pointing at :class:`tests.fakes.stripe_fake.StripeFake`. Events
come from the fake's customer-side actions and are delivered signed, as Stripe does.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import stripe
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from api.app import create_app
from api.db import models as m
from api.domain.accounts.auth import CSRF_HEADER
from api.domain.credits.services import CreditService
from tests.conftest import make_settings
from tests.fakes.stripe_fake import StripeFake
from tests.integration.conftest import wait_until
from tests.integration.helpers import sign_up, sql, verify_email
from tests.integration.payments import assert_ledger_matches_balances

PUBLIC_URL = "https://echoes.example"
WEBHOOK = "/api/webhooks/stripe"


@pytest.fixture
def stripe_fake() -> Iterator[StripeFake]:
    with StripeFake(webhook_secret="whsec_test_" + uuid.uuid4().hex) as fake:
        yield fake


@pytest.fixture
async def client(
    stripe_fake: StripeFake, database_url: str, redis_url: str, queue_prefix: str, var_dir: Path,
    clean_db: None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app served by uvicorn in this event loop, so deliveries really run concurrently
    (Litestar's test client runs each request to completion, one at a time)."""
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, queue_prefix=queue_prefix, var_dir=var_dir,
        STRIPE_SECRET_KEY=stripe_fake.secret_key, STRIPE_WEBHOOK_SECRET=stripe_fake.webhook_secret,
        STRIPE_API_BASE=stripe_fake.url, PUBLIC_URL=PUBLIC_URL,
    )
    assert not settings.demo_checkout
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await serving


@pytest.fixture(autouse=True)
async def ledger_matches_balances(database_url: str, clean_db: None) -> AsyncIterator[None]:
    yield
    await assert_ledger_matches_balances(database_url)


async def _buyer(client: httpx.AsyncClient, database_url: str, *, verified: bool = True, **signup: Any) -> dict[str, Any]:
    """A signed-up buyer, by default with a verified address (and so the 1-credit bonus)."""
    user = (await sign_up(client, **signup))["user"]
    if verified:
        await verify_email(database_url, user["id"])
    return user


async def _checkout(client: httpx.AsyncClient, pack: str = "family") -> dict[str, Any]:
    response = await client.post("/api/credits/checkout", json={"pack": pack})
    assert response.status_code == 201, response.text
    return response.json()


async def _deliver(
    client: httpx.AsyncClient, fake: StripeFake, event: dict[str, Any], **signing: Any
) -> httpx.Response:
    """POST the event as Stripe does: signed, and without the buyer's cookies or CSRF token."""
    payload, signature = fake.signed(event, **signing)
    async with httpx.AsyncClient(base_url=client.base_url) as stripe_side:
        return await stripe_side.post(
            WEBHOOK, content=payload,
            headers={"stripe-signature": signature, "content-type": "application/json"},
        )


async def _ok(client: httpx.AsyncClient, fake: StripeFake, event: dict[str, Any]) -> dict[str, Any]:
    response = await _deliver(client, fake, event)
    assert response.status_code == 200, response.text
    return response.json()


async def _balance(database_url: str, user_id: str) -> int:
    rows = await sql(database_url, "SELECT credit_balance FROM users WHERE id = $1", uuid.UUID(user_id))
    return rows[0]["credit_balance"]


async def _purchase(database_url: str, session_id: str) -> dict[str, Any]:
    rows = await sql(database_url, "SELECT * FROM purchases WHERE checkout_session_id = $1", session_id)
    assert len(rows) == 1
    return dict(rows[0])


async def _ledger(database_url: str, user_id: str) -> list[tuple[str, int, str]]:
    rows = await sql(
        database_url,
        "SELECT kind, amount, reference FROM credit_transactions WHERE user_id = $1 ORDER BY created_at, id",
        uuid.UUID(user_id),
    )
    return [(r["kind"], r["amount"], r["reference"]) for r in rows]


# -- starting a checkout -------------------------------------------------------------------


async def test_checkout_creates_a_stripe_session_for_the_pack_and_records_an_open_purchase(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "family")

    session = stripe_fake.session(started["sessionId"])
    assert started["url"] == session["url"] and started["demo"] is False
    [call] = [r for r in stripe_fake.requests if r.path == "/v1/checkout/sessions"]
    assert call.method == "POST" and call.status == 200
    assert call.headers["authorization"] == f"Bearer {stripe_fake.secret_key}"
    assert call.headers["idempotency-key"] == f"echoes-checkout-{started['purchaseId']}"
    expected_metadata = {
        "purchase_id": started["purchaseId"], "user_id": user["id"], "pack": "family", "credits": "20",
    }
    assert call.params["mode"] == "payment"
    assert call.params["client_reference_id"] == user["id"]
    assert call.params["customer_email"] == user["email"]
    assert call.params["metadata"] == expected_metadata
    assert call.params["payment_intent_data"] == {"metadata": expected_metadata}
    assert call.params["line_items"] == [
        {
            "price_data": {
                "currency": "usd", "unit_amount": "4500",
                "product_data": {"name": "Echoes Family: 20 credits"},
            },
            "quantity": "1",
        }
    ]
    assert call.params["success_url"] == f"{PUBLIC_URL}/credits?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"
    assert call.params["cancel_url"] == f"{PUBLIC_URL}/credits?checkout=cancelled"
    assert session["amount_total"] == 4500 and session["status"] == "open"

    purchase = await _purchase(database_url, started["sessionId"])
    assert str(purchase["id"]) == started["purchaseId"] and str(purchase["user_id"]) == user["id"]
    assert (purchase["status"], purchase["pack_id"], purchase["credits"], purchase["amount_cents"]) == (
        "open", "family", 20, 4500,
    )
    assert purchase["currency"] == "usd" and purchase["demo"] is False
    assert purchase["credits_granted"] is False and purchase["payment_intent_id"] is None
    assert await _balance(database_url, user["id"]) == 1, "starting a checkout grants nothing"


async def test_unknown_pack_is_refused_with_422_and_stripe_is_not_called(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    await _buyer(client, database_url)
    response = await client.post("/api/credits/checkout", json={"pack": "mega"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "INVALID_INPUT" and body["field"] == "pack" and "starter" in body["detail"]
    assert stripe_fake.requests == []
    assert await sql(database_url, "SELECT id FROM purchases") == []


async def test_checkout_needs_a_signed_in_user_and_a_csrf_token(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    await _buyer(client, database_url)
    token = client.headers.pop(CSRF_HEADER)
    refused = await client.post("/api/credits/checkout", json={"pack": "starter"})
    assert refused.status_code == 403 and refused.json()["code"] == "CSRF_FAILED"
    client.headers[CSRF_HEADER] = token
    await client.post("/api/auth/logout")
    anonymous = await client.post("/api/credits/checkout", json={"pack": "starter"})
    assert anonymous.status_code == 401
    assert stripe_fake.requests == []


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [(500, "api_error", None), (402, "card_error", "card_declined"), (401, "invalid_request_error", None)],
)
async def test_stripe_refusing_the_checkout_answers_503_and_records_no_purchase(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str,
    status: int, error_type: str, code: str | None,
) -> None:
    await _buyer(client, database_url)
    stripe_fake.fail_next(status, type=error_type, code=code, should_retry=False)
    response = await client.post("/api/credits/checkout", json={"pack": "starter"})
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "SERVICE_UNAVAILABLE" and "Nothing was charged" in body["detail"]
    assert [r.status for r in stripe_fake.requests] == [status]
    assert await sql(database_url, "SELECT id FROM purchases") == []


async def test_a_transient_stripe_error_is_retried_with_the_same_idempotency_key(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    await _buyer(client, database_url)
    stripe_fake.fail_next(503, should_retry=True)
    started = await _checkout(client, "starter")
    calls = [r for r in stripe_fake.requests if r.path == "/v1/checkout/sessions"]
    assert [c.status for c in calls] == [503, 200]
    assert calls[0].headers["idempotency-key"] == calls[1].headers["idempotency-key"]
    assert len(await sql(database_url, "SELECT id FROM purchases")) == 1
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"


# -- completing, failing, expiring ---------------------------------------------------------


async def test_paid_completion_grants_the_pack_once_through_the_ledger(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "family")
    event = stripe_fake.complete_session(started["sessionId"])

    receipt = await _ok(client, stripe_fake, event)
    assert receipt == {"eventId": event["id"], "type": "checkout.session.completed", "duplicate": False, "received": True}
    assert await _balance(database_url, user["id"]) == 21
    assert await _ledger(database_url, user["id"]) == [
        ("signup_bonus", 1, "signup"), ("purchase", 20, started["sessionId"]),
    ]
    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "paid" and purchase["credits_granted"] is True
    assert purchase["payment_intent_id"] == stripe_fake.session(started["sessionId"])["payment_intent"]
    assert purchase["paid_at"] is not None

    again = await _ok(client, stripe_fake, event)
    assert again["duplicate"] is True
    assert await _balance(database_url, user["id"]) == 21


async def test_twenty_concurrent_deliveries_of_one_event_credit_it_once(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "archive")
    payload, signature = stripe_fake.signed(stripe_fake.complete_session(started["sessionId"]))
    headers = {"stripe-signature": signature, "content-type": "application/json"}

    async with httpx.AsyncClient(base_url=client.base_url) as stripe_side:
        begun = time.perf_counter()
        responses = await asyncio.gather(
            *(stripe_side.post(WEBHOOK, content=payload, headers=headers) for _ in range(20))
        )
        elapsed = time.perf_counter() - begun

    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 19
    assert await _balance(database_url, user["id"]) == 41
    assert [k for k, _, _ in await _ledger(database_url, user["id"])].count("purchase") == 1
    assert len(await sql(database_url, "SELECT id FROM stripe_events")) == 1
    print(f"\n20 concurrent deliveries of one event: {elapsed * 1000:.0f} ms, 1 applied, 19 duplicates")


async def test_async_payment_that_succeeds_grants_only_once_the_money_arrives(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")

    await _ok(client, stripe_fake, stripe_fake.complete_session(started["sessionId"], paid=False))
    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "awaiting_payment" and purchase["credits_granted"] is False
    assert purchase["payment_intent_id"] is not None
    assert await _balance(database_url, user["id"]) == 1

    await _ok(client, stripe_fake, stripe_fake.succeed_async_payment(started["sessionId"]))
    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "paid" and purchase["credits_granted"] is True
    assert await _balance(database_url, user["id"]) == 6


async def test_async_payment_that_fails_marks_the_purchase_failed_and_grants_nothing(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    await _ok(client, stripe_fake, stripe_fake.complete_session(started["sessionId"], paid=False))
    await _ok(client, stripe_fake, stripe_fake.fail_async_payment(started["sessionId"]))

    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "failed" and purchase["credits_granted"] is False
    assert await _balance(database_url, user["id"]) == 1


async def test_async_success_delivered_before_the_unpaid_completion_stays_paid(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    completed = stripe_fake.complete_session(started["sessionId"], paid=False)
    succeeded = stripe_fake.succeed_async_payment(started["sessionId"])

    await _ok(client, stripe_fake, succeeded)
    await _ok(client, stripe_fake, completed)

    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "paid" and purchase["credits_granted"] is True
    assert await _balance(database_url, user["id"]) == 6


async def test_expired_session_marks_the_purchase_expired_and_grants_nothing(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    await _ok(client, stripe_fake, stripe_fake.expire_session(started["sessionId"]))

    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "expired" and purchase["credits_granted"] is False
    assert await _balance(database_url, user["id"]) == 1


# -- refunds -------------------------------------------------------------------------------


async def test_partial_then_full_refund_takes_the_credits_back_proportionally(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "family")
    session_id = started["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(session_id))
    assert await _balance(database_url, user["id"]) == 21

    partial = stripe_fake.refund(session_id, 1000)
    await _ok(client, stripe_fake, partial)
    assert await _balance(database_url, user["id"]) == 17, "$10 of $45 takes back floor(20 * 10/45) = 4"

    await _ok(client, stripe_fake, stripe_fake.refund(session_id))
    assert await _balance(database_url, user["id"]) == 1

    partial["id"] = "evt_redelivered_" + uuid.uuid4().hex
    await _ok(client, stripe_fake, partial)
    assert await _balance(database_url, user["id"]) == 1, "an older refund state takes nothing more"

    purchase = await _purchase(database_url, session_id)
    assert (purchase["refunded_cents"], purchase["credits_reversed"], purchase["status"]) == (4500, 20, "paid")
    assert await _ledger(database_url, user["id"]) == [
        ("signup_bonus", 1, "signup"),
        ("purchase", 20, session_id),
        ("chargeback", -4, f"{session_id}:refunded:1000"),
        ("chargeback", -16, f"{session_id}:refunded:4500"),
    ]
    flagged = await sql(database_url, "SELECT credits_owed, flagged_reason FROM users WHERE id = $1", uuid.UUID(user["id"]))
    assert (flagged[0]["credits_owed"], flagged[0]["flagged_reason"]) == (0, None)


async def test_refund_larger_than_the_remaining_balance_empties_it_and_flags_what_is_owed(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    await _ok(client, stripe_fake, stripe_fake.complete_session(started["sessionId"]))
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            await CreditService(session).spend(uuid.UUID(user["id"]), 4, m.CreditKind.GENERATION, "clips")
            await session.commit()
    finally:
        await engine.dispose()
    assert await _balance(database_url, user["id"]) == 2

    await _ok(client, stripe_fake, stripe_fake.refund(started["sessionId"]))

    assert await _balance(database_url, user["id"]) == 0
    rows = await sql(database_url, "SELECT credits_owed, flagged_reason FROM users WHERE id = $1", uuid.UUID(user["id"]))
    assert rows[0]["credits_owed"] == 3
    assert "Owes 3 credits" in rows[0]["flagged_reason"] and "$15.00" in rows[0]["flagged_reason"]
    purchase = await _purchase(database_url, started["sessionId"])
    assert (purchase["refunded_cents"], purchase["credits_reversed"]) == (1500, 5)
    assert (await _ledger(database_url, user["id"]))[-1] == (
        "chargeback", -2, f"{started['sessionId']}:refunded:1500",
    )


async def test_refund_delivered_before_the_completion_ends_as_in_order_delivery(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    """Two buyers, same pack, same partial refund; one sees the events in order, one not."""
    outcomes = []
    for in_order in (True, False):
        user = await _buyer(client, database_url)
        session_id = (await _checkout(client, "family"))["sessionId"]
        completed = stripe_fake.complete_session(session_id)
        refunded = stripe_fake.refund(session_id, 2250)
        for event in (completed, refunded) if in_order else (refunded, completed):
            await _ok(client, stripe_fake, event)
            if not in_order and event is refunded:
                held = await sql(database_url, "SELECT charge_id, refunded_cents FROM orphan_refunds")
                assert [(r["charge_id"], r["refunded_cents"]) for r in held] == [(refunded["data"]["object"]["id"], 2250)]
                assert await _balance(database_url, user["id"]) == 1
        purchase = await _purchase(database_url, session_id)
        ledger = [(kind, amount, ref.replace(session_id, "SESSION")) for kind, amount, ref in await _ledger(database_url, user["id"])]
        outcomes.append((
            await _balance(database_url, user["id"]), ledger, purchase["status"],
            purchase["refunded_cents"], purchase["credits_reversed"], purchase["credits_granted"],
        ))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 11 and outcomes[0][3:] == (2250, 10, True)
    assert await sql(database_url, "SELECT charge_id FROM orphan_refunds") == []


async def test_a_refund_delivered_while_its_completion_is_mid_transaction_is_not_lost(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    """The completion is held inside its transaction (it has learned the payment intent and
    found no refund waiting, but not committed) while the refund for it is delivered."""
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "starter"))["sessionId"]
    completed = stripe_fake.complete_session(session_id)
    refunded = stripe_fake.refund(session_id)

    gate = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        holding = gate.transaction()
        await holding.start()
        await gate.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", uuid.UUID(user["id"]))
        completing = asyncio.create_task(_deliver(client, stripe_fake, completed))
        await wait_until(lambda: _sessions_waiting_on_locks(database_url, at_least=1), timeout=10, interval=0.02)
        refunding = asyncio.create_task(_deliver(client, stripe_fake, refunded))

        async def refund_answered_or_blocked() -> bool:
            return refunding.done() or await _sessions_waiting_on_locks(database_url, at_least=2)

        await wait_until(refund_answered_or_blocked, timeout=10, interval=0.02)
        await holding.rollback()
    finally:
        await gate.close()

    responses = await asyncio.gather(completing, refunding)
    assert [r.status_code for r in responses] == [200, 200]
    purchase = await _purchase(database_url, session_id)
    assert (purchase["status"], purchase["refunded_cents"], purchase["credits_reversed"]) == ("paid", 1500, 5)
    assert await _balance(database_url, user["id"]) == 1
    assert await sql(database_url, "SELECT charge_id FROM orphan_refunds") == []


async def _sessions_waiting_on_locks(database_url: str, *, at_least: int) -> bool:
    rows = await sql(
        database_url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return rows[0]["n"] >= at_least


# -- referral reward -----------------------------------------------------------------------


async def test_referral_reward_is_granted_to_both_once_on_the_first_purchase_only(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    referrer = await _buyer(client, database_url)
    referred = await _buyer(client, database_url, referralCode=referrer["referralCode"])

    first = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(first))
    assert await _balance(database_url, referred["id"]) == 1 + 5 + 5
    assert await _balance(database_url, referrer["id"]) == 1 + 5

    second = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(second))
    assert await _balance(database_url, referred["id"]) == 1 + 5 + 5 + 5
    assert await _balance(database_url, referrer["id"]) == 1 + 5

    rows = await sql(database_url, "SELECT user_id, amount, reference FROM credit_transactions WHERE kind = 'referral'")
    assert sorted((str(r["user_id"]), r["amount"], r["reference"]) for r in rows) == sorted([
        (referred["id"], 5, f"referral:{referred['id']}"), (referrer["id"], 5, f"referral:{referred['id']}"),
    ])


# -- refusals ------------------------------------------------------------------------------


def _tampered(fake: StripeFake, event: dict[str, Any]) -> tuple[bytes, str | None]:
    payload, signature = fake.signed(event)
    return payload.replace(b'"paid"', b'"PAID"', 1), signature


def _wrong_secret(fake: StripeFake, event: dict[str, Any]) -> tuple[bytes, str | None]:
    return fake.signed(event, secret="whsec_someone_else")


def _stale(fake: StripeFake, event: dict[str, Any]) -> tuple[bytes, str | None]:
    return fake.signed(event, timestamp=int(time.time()) - 301)


def _unsigned(fake: StripeFake, event: dict[str, Any]) -> tuple[bytes, str | None]:
    return fake.signed(event)[0], None


def _not_json(fake: StripeFake, event: dict[str, Any]) -> tuple[bytes, str | None]:
    body = b'{"id": "evt_1", "type": '
    return body, stripe.WebhookSignature.generate_signature_header(body.decode(), fake.webhook_secret)


@pytest.mark.parametrize(
    ("delivery", "code"),
    [
        (_tampered, "INVALID_SIGNATURE"),
        (_wrong_secret, "INVALID_SIGNATURE"),
        (_stale, "INVALID_SIGNATURE"),
        (_unsigned, "INVALID_SIGNATURE"),
        (_not_json, "INVALID_PAYLOAD"),
    ],
    ids=["tampered-body", "wrong-secret", "older-than-300s", "no-signature-header", "signed-but-not-json"],
)
async def test_unverifiable_deliveries_are_refused_with_400_and_change_nothing(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str, delivery: Any, code: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    payload, signature = delivery(stripe_fake, stripe_fake.complete_session(started["sessionId"]))
    headers = {"content-type": "application/json"} | ({"stripe-signature": signature} if signature else {})

    async with httpx.AsyncClient(base_url=client.base_url) as stripe_side:
        response = await stripe_side.post(WEBHOOK, content=payload, headers=headers)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await sql(database_url, "SELECT id FROM stripe_events") == []
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"
    assert await _balance(database_url, user["id"]) == 1


async def test_a_delivery_signed_just_inside_the_tolerance_is_accepted(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    event = stripe_fake.complete_session(started["sessionId"])
    response = await _deliver(client, stripe_fake, event, timestamp=int(time.time()) - 290)
    assert response.status_code == 200, response.text
    assert await _balance(database_url, user["id"]) == 6


async def test_unknown_event_types_and_unknown_sessions_are_acknowledged_recorded_and_ignored(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    completed = stripe_fake.complete_session(started["sessionId"])
    other_type = json.loads(json.dumps(completed)) | {"id": "evt_other_" + uuid.uuid4().hex, "type": "customer.created"}
    foreign = json.loads(json.dumps(completed)) | {"id": "evt_foreign_" + uuid.uuid4().hex}
    foreign["data"]["object"]["id"] = "cs_test_not_ours"

    for event in (other_type, foreign):
        receipt = await _ok(client, stripe_fake, event)
        assert receipt["duplicate"] is False

    events = await sql(database_url, "SELECT id, type FROM stripe_events ORDER BY id")
    assert sorted((r["id"], r["type"]) for r in events) == sorted([
        (other_type["id"], "customer.created"), (foreign["id"], "checkout.session.completed"),
    ])
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "open"
    assert await _balance(database_url, user["id"]) == 1


# -- what the paid event must match --------------------------------------------------------


async def _owed(database_url: str, user_id: str) -> tuple[int, str | None]:
    rows = await sql(database_url, "SELECT credits_owed, flagged_reason FROM users WHERE id = $1", uuid.UUID(user_id))
    return rows[0]["credits_owed"], rows[0]["flagged_reason"]


async def test_a_signed_completion_whose_amount_is_not_the_packs_grants_nothing(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "archive")
    event = stripe_fake.complete_session(started["sessionId"])
    assert event["data"]["object"]["amount_total"] == 8000
    event["data"]["object"]["amount_total"] = 1500

    await _ok(client, stripe_fake, event)

    purchase = await _purchase(database_url, started["sessionId"])
    assert (purchase["status"], purchase["credits_granted"]) == ("mismatch", False)
    assert "amount_total 1500 instead of 8000" in purchase["mismatch_reason"]
    assert await _balance(database_url, user["id"]) == 1
    assert [k for k, _, _ in await _ledger(database_url, user["id"])] == ["signup_bonus"]

    retry = json.loads(json.dumps(event)) | {"id": "evt_retry_" + uuid.uuid4().hex}
    retry["data"]["object"]["amount_total"] = 8000
    await _ok(client, stripe_fake, retry)
    assert (await _purchase(database_url, started["sessionId"]))["status"] == "mismatch", "a mismatch waits for a person"
    assert await _balance(database_url, user["id"]) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currency": "eur"}, "currency 'eur' instead of 'usd'"),
        ({"livemode": True}, "a live-mode session for a test-mode shop"),
    ],
    ids=["other-currency", "live-session-for-a-test-key"],
)
async def test_a_completion_in_another_currency_or_mode_grants_nothing(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str, change: dict[str, Any], reason: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    event = stripe_fake.complete_session(started["sessionId"])
    event["data"]["object"].update(change)

    await _ok(client, stripe_fake, event)

    purchase = await _purchase(database_url, started["sessionId"])
    assert purchase["status"] == "mismatch" and reason in purchase["mismatch_reason"]
    assert await _balance(database_url, user["id"]) == 1


async def test_a_live_mode_event_is_not_accepted_by_a_test_mode_shop(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    started = await _checkout(client, "starter")
    event = stripe_fake.complete_session(started["sessionId"])
    event["livemode"] = True

    await _ok(client, stripe_fake, event)

    assert (await _purchase(database_url, started["sessionId"]))["status"] == "mismatch"
    assert await _balance(database_url, user["id"]) == 1


# -- disputes ------------------------------------------------------------------------------


async def test_a_dispute_takes_the_credits_back_and_winning_it_gives_them_back_once(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "family"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(session_id))
    assert await _balance(database_url, user["id"]) == 21

    created = stripe_fake.dispute(session_id)
    dispute_id = created["data"]["object"]["id"]
    await _ok(client, stripe_fake, created)
    assert (await _ok(client, stripe_fake, created))["duplicate"] is True
    assert await _balance(database_url, user["id"]) == 1
    purchase = await _purchase(database_url, session_id)
    assert (purchase["credits_reversed"], purchase["credits_owed"]) == (20, 0)

    closed = stripe_fake.close_dispute(dispute_id, won=True)
    await _ok(client, stripe_fake, closed)
    assert await _balance(database_url, user["id"]) == 21
    for replay in (closed, created):
        again = json.loads(json.dumps(replay)) | {"id": "evt_replay_" + uuid.uuid4().hex}
        await _ok(client, stripe_fake, again)
    assert await _balance(database_url, user["id"]) == 21, "replays of either event change nothing"

    assert (await _ledger(database_url, user["id"]))[1:] == [
        ("purchase", 20, session_id),
        ("chargeback", -20, f"{session_id}:dispute:{dispute_id}:20"),
        ("purchase", 20, f"{session_id}:dispute:{dispute_id}:won:0"),
    ]
    assert (await _purchase(database_url, session_id))["credits_reversed"] == 0


async def test_a_lost_dispute_keeps_the_credits_taken_back(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(session_id))
    created = stripe_fake.dispute(session_id)
    await _ok(client, stripe_fake, created)
    await _ok(client, stripe_fake, stripe_fake.close_dispute(created["data"]["object"]["id"], won=False))
    assert await _balance(database_url, user["id"]) == 1
    assert (await _purchase(database_url, session_id))["credits_reversed"] == 5


async def test_a_dispute_beyond_the_balance_records_the_shortfall_and_winning_cancels_it(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(session_id))
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            await CreditService(session).spend(uuid.UUID(user["id"]), 4, m.CreditKind.GENERATION, "clips")
            await session.commit()
    finally:
        await engine.dispose()

    created = stripe_fake.dispute(session_id)
    await _ok(client, stripe_fake, created)

    assert await _balance(database_url, user["id"]) == 0
    owed, reason = await _owed(database_url, user["id"])
    assert owed == 3 and "Owes 3 credits" in reason and "dispute of $15.00" in reason
    purchase = await _purchase(database_url, session_id)
    assert (purchase["credits_reversed"], purchase["credits_owed"]) == (5, 3)
    assert (await _ledger(database_url, user["id"]))[-1][:2] == ("chargeback", -2)

    await _ok(client, stripe_fake, stripe_fake.close_dispute(created["data"]["object"]["id"], won=True))

    assert await _balance(database_url, user["id"]) == 2, "what was taken comes back; the debt is cancelled"
    assert await _owed(database_url, user["id"]) == (0, None)
    purchase = await _purchase(database_url, session_id)
    assert (purchase["credits_reversed"], purchase["credits_owed"]) == (0, 0)


async def test_dispute_events_in_any_order_end_in_the_same_state(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    """Closed (won) before created, and both before the completion: nothing is taken."""
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "family"))["sessionId"]
    completed = stripe_fake.complete_session(session_id)
    created = stripe_fake.dispute(session_id)
    closed = stripe_fake.close_dispute(created["data"]["object"]["id"], won=True)

    for event in (closed, created, completed):
        await _ok(client, stripe_fake, event)

    assert await _balance(database_url, user["id"]) == 21
    assert [k for k, _, _ in await _ledger(database_url, user["id"])] == ["signup_bonus", "purchase"]


async def test_a_dispute_delivered_before_the_completion_is_applied_when_it_arrives(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    user = await _buyer(client, database_url)
    session_id = (await _checkout(client, "starter"))["sessionId"]
    completed = stripe_fake.complete_session(session_id)
    created = stripe_fake.dispute(session_id)

    await _ok(client, stripe_fake, created)
    assert await _balance(database_url, user["id"]) == 1
    await _ok(client, stripe_fake, completed)

    assert await _balance(database_url, user["id"]) == 1
    purchase = await _purchase(database_url, session_id)
    assert (purchase["status"], purchase["credits_granted"], purchase["credits_reversed"]) == ("paid", True, 5)


# -- referral bonuses: verified addresses, and taken back with their purchase ---------------


async def _referred_purchase(
    client: httpx.AsyncClient, fake: StripeFake, database_url: str, *, verified: bool = True
) -> tuple[dict[str, Any], dict[str, Any], str]:
    referrer = await _buyer(client, database_url, verified=verified)
    referred = await _buyer(client, database_url, verified=verified, referralCode=referrer["referralCode"])
    session_id = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, fake, fake.complete_session(session_id))
    return referrer, referred, session_id


async def test_referral_bonuses_wait_for_each_side_to_verify_its_address(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    referrer, referred, _ = await _referred_purchase(client, stripe_fake, database_url, verified=False)
    assert await _balance(database_url, referred["id"]) == 5, "the pack only"
    assert await _balance(database_url, referrer["id"]) == 0

    await verify_email(database_url, referred["id"])
    assert await _balance(database_url, referred["id"]) == 5 + 1 + 5
    assert await _balance(database_url, referrer["id"]) == 0, "the referrer has not verified yet"

    for _ in range(2):
        await verify_email(database_url, referrer["id"])
        await verify_email(database_url, referred["id"])
    assert await _balance(database_url, referrer["id"]) == 1 + 5
    assert await _balance(database_url, referred["id"]) == 5 + 1 + 5
    rows = await sql(database_url, "SELECT count(*) AS n FROM credit_transactions WHERE kind = 'referral'")
    assert rows[0]["n"] == 2


async def test_a_refunded_first_purchase_takes_both_referral_bonuses_back(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    referrer, referred, session_id = await _referred_purchase(client, stripe_fake, database_url)
    assert (await _balance(database_url, referred["id"]), await _balance(database_url, referrer["id"])) == (11, 6)
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            await CreditService(session).spend(uuid.UUID(referrer["id"]), 4, m.CreditKind.GENERATION, "clips")
            await session.commit()
    finally:
        await engine.dispose()

    await _ok(client, stripe_fake, stripe_fake.refund(session_id))

    assert await _balance(database_url, referred["id"]) == 1, "pack and referral bonus taken back"
    assert await _balance(database_url, referrer["id"]) == 0, "never below zero"
    owed, reason = await _owed(database_url, referrer["id"])
    assert owed == 3 and "referral reward" in reason

    second = (await _checkout(client, "starter"))["sessionId"]
    await _ok(client, stripe_fake, stripe_fake.complete_session(second))
    assert await _balance(database_url, referred["id"]) == 1 + 5, "a later purchase earns no referral bonus"
    assert await _balance(database_url, referrer["id"]) == 0


async def test_a_disputed_first_purchase_takes_the_referral_bonuses_back_until_the_dispute_is_won(
    client: httpx.AsyncClient, stripe_fake: StripeFake, database_url: str
) -> None:
    referrer, referred, session_id = await _referred_purchase(client, stripe_fake, database_url)
    created = stripe_fake.dispute(session_id)
    await _ok(client, stripe_fake, created)
    assert (await _balance(database_url, referred["id"]), await _balance(database_url, referrer["id"])) == (1, 1)

    await _ok(client, stripe_fake, stripe_fake.close_dispute(created["data"]["object"]["id"], won=True))

    assert (await _balance(database_url, referred["id"]), await _balance(database_url, referrer["id"])) == (11, 6)
    referral_rows = await sql(
        database_url, "SELECT amount FROM credit_transactions WHERE reference LIKE 'referral:%' ORDER BY created_at"
    )
    assert sorted(r["amount"] for r in referral_rows) == [-5, -5, 5, 5, 5, 5]
