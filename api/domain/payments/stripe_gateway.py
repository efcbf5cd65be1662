"""Creating Checkout Sessions: the Stripe client wrapper, and the interface the demo shares.

:class:`StripeGateway` keeps one ``stripe.StripeClient`` per process on stripe's
httpx-based HTTP client, so a call to Stripe awaits without blocking the event loop.
``STRIPE_API_BASE`` points it somewhere other than api.stripe.com (the tests' fake).
Whatever goes wrong on the way to Stripe becomes :class:`PaymentProviderUnavailable`
(503 ``SERVICE_UNAVAILABLE``); the details go to the log, not to the customer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import stripe
import structlog

from api.config import CreditPack
from api.errors import ServiceUnavailable

log = structlog.get_logger()


class PaymentProviderUnavailable(ServiceUnavailable):
    """Stripe could not create the checkout: down, refusing our key, or refusing the request."""


@dataclass(frozen=True)
class CheckoutRequest:
    purchase_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    pack: CreditPack
    success_url: str
    cancel_url: str


@dataclass(frozen=True)
class HostedCheckout:
    session_id: str
    url: str


@runtime_checkable
class CheckoutGateway(Protocol):
    """Where a purchase's payment page comes from: Stripe, or the demo checkout."""

    @property
    def demo(self) -> bool: ...

    async def create_checkout_session(self, request: CheckoutRequest) -> HostedCheckout: ...

    async def aclose(self) -> None: ...


def checkout_metadata(*, purchase_id: uuid.UUID, user_id: uuid.UUID, pack_id: str, credits: int) -> dict[str, str]:
    """Set on the session and on its PaymentIntent (Stripe copies neither onto the other)."""
    return {"purchase_id": str(purchase_id), "user_id": str(user_id), "pack": pack_id, "credits": str(credits)}


class StripeGateway:
    #: The SDK retries connection errors, 409s and 5xx (unless Stripe says not to) with
    #: backoff, reusing the request's Idempotency-Key, so a retry never creates a second session.
    MAX_NETWORK_RETRIES = 2
    TIMEOUT_SECONDS = 20.0

    def __init__(self, secret_key: str, *, api_base: str = "") -> None:
        self._http = stripe.HTTPXClient(timeout=self.TIMEOUT_SECONDS)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=self.MAX_NETWORK_RETRIES,
            http_client=self._http,
        )

    @property
    def demo(self) -> bool:
        return False

    async def create_checkout_session(self, request: CheckoutRequest) -> HostedCheckout:
        pack = request.pack
        metadata = checkout_metadata(
            purchase_id=request.purchase_id, user_id=request.user_id, pack_id=pack.id, credits=pack.credits
        )
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": str(request.user_id),
            "customer_email": request.email,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "line_items": [
                {
                    "price_data": {
                        "currency": pack.currency,
                        "unit_amount": pack.price_cents,
                        "product_data": {"name": f"Echoes {pack.name}: {pack.credits} credits"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"echoes-checkout-{request.purchase_id}"},
            )
        except stripe.StripeError as exc:
            log.error(
                "stripe_checkout_failed", purchase_id=str(request.purchase_id),
                user_id=str(request.user_id), error=type(exc).__name__, http_status=exc.http_status,
                stripe_code=exc.code, stripe_request_id=exc.request_id, message=exc.user_message,
            )
            raise _unavailable() from exc
        if not session.url:
            log.error("stripe_checkout_without_url", purchase_id=str(request.purchase_id), session_id=session.id)
            raise _unavailable()
        return HostedCheckout(session_id=session.id, url=session.url)

    async def aclose(self) -> None:
        await self._http.close_async()


def _unavailable() -> PaymentProviderUnavailable:
    return PaymentProviderUnavailable(
        "We could not open the payment page just now. Nothing was charged; please try again in a few minutes."
    )
