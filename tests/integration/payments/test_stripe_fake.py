"""The Stripe fake, driven by the real ``stripe`` library: it must answer the way Stripe does,
or the payment tests built on it prove nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.fakes.stripe_fake import StripeFake, parse_form

SESSION_PARAMS: dict[str, Any] = {
    "mode": "payment",
    "client_reference_id": "user_42",
    "metadata": {"pack": "family", "credits": "20"},
    "payment_intent_data": {"metadata": {"pack": "family", "purchase_id": "p_1"}},
    "line_items": [
        {"price_data": {"currency": "usd", "unit_amount": 4500, "product_data": {"name": "20 credits"}}, "quantity": 1},
    ],
    "success_url": "https://app.example/ok?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://app.example/cancel",
}


@pytest.fixture
def fake() -> Iterator[StripeFake]:
    with StripeFake() as running:
        yield running


def _client(fake: StripeFake, key: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(
        key or fake.secret_key, base_addresses={"api": fake.url}, max_network_retries=0,
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
    )


def test_bracket_notation_parses_into_nested_dicts_and_lists() -> None:
    parsed = parse_form(
        "mode=payment&metadata[pack]=family&line_items[1][quantity]=2&line_items[0][quantity]=1"
        "&line_items[0][price_data][product_data][name]=20+credits&expand[]=line_items&expand[]=x"
    )
    assert parsed == {
        "mode": "payment",
        "metadata": {"pack": "family"},
        "line_items": [{"quantity": "1", "price_data": {"product_data": {"name": "20 credits"}}}, {"quantity": "2"}],
        "expand": ["line_items", "x"],
    }


def test_the_sdk_creates_and_retrieves_a_checkout_session(fake: StripeFake) -> None:
    client = _client(fake)
    created = client.v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]

    assert created.id.startswith("cs_test_") and created.object == "checkout.session"
    assert (created.status, created.payment_status, created.amount_total, created.currency) == ("open", "unpaid", 4500, "usd")
    assert created.url == f"{fake.url}/c/pay/{created.id}"
    assert created.metadata.to_dict() == {"pack": "family", "credits": "20"}
    assert created.client_reference_id == "user_42" and created.payment_intent is None
    [call] = fake.requests
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.headers["stripe-version"] == stripe.api_version
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "4500"

    fetched = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["line_items"]})
    assert fetched.id == created.id
    [item] = fetched.line_items.data  # type: ignore[union-attr]
    assert (item.description, item.quantity, item.amount_total, item.price.unit_amount) == ("20 credits", 1, 4500, 4500)

    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_requests_need_the_fakes_secret_key_as_a_bearer_token(fake: StripeFake) -> None:
    with pytest.raises(stripe.AuthenticationError) as refused:
        _client(fake, "sk_test_someone_else").v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]
    assert refused.value.http_status == 401
    anonymous = httpx.post(f"{fake.url}/v1/checkout/sessions", data={"mode": "payment"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in anonymous.json()["error"]["message"]
    assert fake.session_count == 0


def test_an_idempotency_key_replays_the_first_result(fake: StripeFake) -> None:
    client = _client(fake)
    first = client.v1.checkout.sessions.create(params=SESSION_PARAMS, options={"idempotency_key": "k-1"})  # type: ignore[arg-type]
    second = client.v1.checkout.sessions.create(params=SESSION_PARAMS, options={"idempotency_key": "k-1"})  # type: ignore[arg-type]
    assert second.id == first.id and fake.session_count == 1
    assert second.last_response.headers["idempotent-replayed"] == "true"

    changed = {**SESSION_PARAMS, "client_reference_id": "user_43"}
    with pytest.raises(stripe.IdempotencyError) as reused:
        client.v1.checkout.sessions.create(params=changed, options={"idempotency_key": "k-1"})  # type: ignore[arg-type]
    assert reused.value.http_status == 400


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({k: v for k, v in SESSION_PARAMS.items() if k != "line_items"}, "line_items", "parameter_missing"),
        ({**SESSION_PARAMS, "colour": "red"}, "colour", "parameter_unknown"),
        (
            {**SESSION_PARAMS, "line_items": [{**SESSION_PARAMS["line_items"][0], "quantity": "lots"}]},
            "line_items[0][quantity]", "parameter_invalid_integer",
        ),
    ],
    ids=["missing", "unknown", "not-an-integer"],
)
def test_invalid_parameters_are_refused_in_stripes_error_shape(
    fake: StripeFake, params: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _client(fake).v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    assert (refused.value.http_status, refused.value.param, refused.value.code) == (400, param, code)
    assert fake.session_count == 0


@pytest.mark.parametrize(
    ("status", "exception"),
    [(402, stripe.CardError), (429, stripe.RateLimitError), (500, stripe.APIError)],
)
def test_injected_failures_map_to_the_sdks_exceptions(fake: StripeFake, status: int, exception: type) -> None:
    fake.fail_next(status, type="card_error" if status == 402 else "api_error", code="card_declined" if status == 402 else None)
    with pytest.raises(exception) as failed:
        _client(fake).v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]
    assert failed.value.http_status == status
    assert _client(fake).v1.checkout.sessions.create(params=SESSION_PARAMS).status == "open"  # type: ignore[arg-type]


def test_customer_actions_produce_signed_events_in_stripes_shape(fake: StripeFake) -> None:
    session = _client(fake).v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]

    completed = fake.complete_session(session.id)
    assert completed["type"] == "checkout.session.completed" and completed["object"] == "event"
    paid = completed["data"]["object"]
    assert (paid["status"], paid["payment_status"], paid["url"]) == ("complete", "paid", None)
    assert paid["payment_intent"].startswith("pi_") and paid["metadata"] == SESSION_PARAMS["metadata"]
    charge = fake.charge_for(session.id)
    assert charge["payment_intent"] == paid["payment_intent"]
    assert charge["metadata"] == SESSION_PARAMS["payment_intent_data"]["metadata"]

    partial = fake.refund(session.id, 1000)
    assert partial["type"] == "charge.refunded"
    assert (partial["data"]["object"]["amount_refunded"], partial["data"]["object"]["refunded"]) == (1000, False)
    assert partial["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    full = fake.refund(session.id)
    assert (full["data"]["object"]["amount_refunded"], full["data"]["object"]["refunded"]) == (4500, True)
    with pytest.raises(ValueError):
        fake.refund(session.id, 1)
    with pytest.raises(ValueError):
        fake.expire_session(session.id)

    payload, header = fake.signed(full)
    event = stripe.Webhook.construct_event(payload, header, fake.webhook_secret, tolerance=300)
    assert event.id == full["id"] and event.type == "charge.refunded"
    stale_payload, stale_header = fake.signed(full, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(stale_payload, stale_header, fake.webhook_secret, tolerance=300)


def test_delayed_payments_complete_unpaid_then_succeed_or_fail(fake: StripeFake) -> None:
    client = _client(fake)
    succeeding = client.v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]
    failing = client.v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]

    for session in (succeeding, failing):
        unpaid = fake.complete_session(session.id, paid=False)["data"]["object"]
        assert (unpaid["status"], unpaid["payment_status"]) == ("complete", "unpaid")
        with pytest.raises(ValueError):
            fake.charge_for(session.id)

    succeeded = fake.succeed_async_payment(succeeding.id)
    assert succeeded["type"] == "checkout.session.async_payment_succeeded"
    assert succeeded["data"]["object"]["payment_status"] == "paid"
    assert fake.charge_for(succeeding.id)["status"] == "succeeded"

    failed = fake.fail_async_payment(failing.id)
    assert failed["type"] == "checkout.session.async_payment_failed"
    assert failed["data"]["object"]["payment_status"] == "unpaid"
    retrieved = client.v1.checkout.sessions.retrieve(failing.id)
    assert (retrieved.status, retrieved.payment_status) == ("complete", "unpaid")
