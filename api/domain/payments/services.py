"""Buying credit packs: starting a checkout, and the demo checkout's stand-in for Stripe.

**Checkout.** ``CheckoutService.start`` asks the gateway (Stripe, or the demo checkout
without a Stripe key) for a hosted payment page first and records the ``Purchase``
afterwards, so a failed call to Stripe leaves nothing behind and no database transaction
waits on the network. The success page never grants anything: only the webhook does
(:mod:`api.domain.payments.webhook`).
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
import stripe
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from api.config import CreditPack, Settings
from api.db import models as m
from api.domain.payments.demo import (
    DEMO_SESSION_PREFIX,
    DemoCheckoutGateway,
    demo_payment_intent,
    demo_session_event,
)
from api.domain.payments.schemas import CheckoutStarted
from api.domain.payments.stripe_gateway import CheckoutGateway, CheckoutRequest, StripeGateway
from api.domain.payments.webhook import StripeWebhookProcessor
from api.errors import InvalidInput, NotFound

log = structlog.get_logger()

def checkout_gateway_for(settings: Settings) -> CheckoutGateway:
    """Stripe when a secret key is configured, the labelled demo checkout otherwise."""
    if settings.demo_checkout:
        return DemoCheckoutGateway(settings.public_url)
    return StripeGateway(settings.stripe_secret_key, api_base=settings.stripe_api_base)


def success_url(settings: Settings, session_id: str = "{CHECKOUT_SESSION_ID}") -> str:
    """Where the buyer lands after paying; Stripe fills in ``{CHECKOUT_SESSION_ID}``."""
    return f"{settings.public_url}/credits?checkout=success&session_id={session_id}"


def cancel_url(settings: Settings) -> str:
    return f"{settings.public_url}/credits?checkout=cancelled"


def find_pack(settings: Settings, pack_id: str) -> CreditPack:
    for pack in settings.credit_packs:
        if pack.id == pack_id:
            return pack
    names = ", ".join(p.id for p in settings.credit_packs)
    raise InvalidInput(f"There is no credit pack called {pack_id!r}. Choose one of: {names}.", field="pack")


def pack_name(settings: Settings, purchase: m.Purchase) -> str:
    for pack in settings.credit_packs:
        if pack.id == purchase.pack_id:
            return pack.name
    return f"{purchase.credits} credits"


class CheckoutService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def start(
        self, gateway: CheckoutGateway, *, user_id: uuid.UUID, email: str, pack_id: str
    ) -> CheckoutStarted:
        """Open a hosted payment page for ``pack_id`` and record the open purchase."""
        pack = find_pack(self.settings, pack_id)
        purchase_id = uuid7()
        hosted = await gateway.create_checkout_session(
            CheckoutRequest(
                purchase_id=purchase_id, user_id=user_id, email=email, pack=pack,
                success_url=success_url(self.settings), cancel_url=cancel_url(self.settings),
            )
        )
        self.session.add(
            m.Purchase(
                id=purchase_id, user_id=user_id, checkout_session_id=hosted.session_id,
                pack_id=pack.id, credits=pack.credits, amount_cents=pack.price_cents,
                currency=pack.currency, status=m.PurchaseStatus.OPEN, demo=gateway.demo,
                credits_granted=False, refunded_cents=0, credits_reversed=0,
            )
        )
        await self.session.flush()
        log.info(
            "checkout_started", user_id=str(user_id), purchase_id=str(purchase_id),
            session_id=hosted.session_id, pack=pack.id, demo=gateway.demo,
        )
        return CheckoutStarted(
            purchase_id=purchase_id, session_id=hosted.session_id, url=hosted.url, demo=gateway.demo
        )

    async def demo_purchase(self, user_id: uuid.UUID, session_id: str) -> m.Purchase:
        """The owner's demo purchase; anything else (another user's, a real one, or any
        demo purchase once a Stripe key is configured) is not found."""
        if not self.settings.demo_checkout or not session_id.startswith(DEMO_SESSION_PREFIX):
            raise NotFound("We could not find that checkout.")
        purchase = await self.session.scalar(
            sa.select(m.Purchase).where(
                m.Purchase.checkout_session_id == session_id,
                m.Purchase.user_id == user_id,
                m.Purchase.demo.is_(True),
            )
        )
        if purchase is None:
            raise NotFound("We could not find that checkout.")
        return purchase

    async def finish_demo(self, user_id: uuid.UUID, session_id: str, *, pay: bool) -> str:
        """Pay or cancel on the demo page; returns where to send the browser.

        The event the real checkout would cause goes through the webhook's own verification
        and processing, signed with the webhook secret like a delivery from Stripe.
        """
        purchase = await self.demo_purchase(user_id, session_id)
        if purchase.status == m.PurchaseStatus.OPEN:
            if pay:
                event = demo_session_event(
                    purchase, event_type="checkout.session.completed", status="complete",
                    payment_status="paid", payment_intent=demo_payment_intent(purchase),
                )
            else:
                event = demo_session_event(
                    purchase, event_type="checkout.session.expired", status="expired",
                    payment_status="unpaid", payment_intent=None,
                )
            payload = json.dumps(event)
            signature = stripe.WebhookSignature.generate_signature_header(
                payload, self.settings.stripe_webhook_secret
            )
            await StripeWebhookProcessor(self.session, self.settings).receive(payload.encode(), signature)
        if purchase.status == m.PurchaseStatus.PAID:
            return success_url(self.settings, purchase.checkout_session_id)
        return cancel_url(self.settings)
