"""Buying credit packs: starting a checkout, and the Stripe webhook that alone grants credits.

**Checkout.** ``CheckoutService.start`` asks the gateway (Stripe, or the demo checkout
without a Stripe key) for a hosted payment page first and records the ``Purchase``
afterwards, so a failed call to Stripe leaves nothing behind and no database transaction
waits on the network. The success page never grants anything.

**Webhook.** :class:`StripeWebhookProcessor` verifies the ``Stripe-Signature`` on the raw
body, then, in the caller's transaction, inserts the event id into ``stripe_events``
(``ON CONFLICT DO NOTHING``) *before* doing anything else: a concurrent delivery of the
same event blocks on that row until the first commits, then finds it and does nothing; if
the first rolls back, the retry does the work. Each handler is state-based, so events may
arrive in any order:

- A purchase's ``status`` only moves forward: ``open`` -> ``awaiting_payment`` ->
  ``failed`` / ``expired``; ``paid`` overrides all of them (money that arrived is final)
  and nothing overrides ``paid``.
- Credits are granted once, when Stripe says the session is paid (``completed`` with
  ``payment_status=paid``, or ``async_payment_succeeded``), under the ledger's unique
  (user, ``purchase``, checkout session id).
- ``refunded_cents`` only grows (``amount_refunded`` on a charge is cumulative). The credits
  to take back are ``floor(credits * refunded / amount)`` minus what was already taken, so a
  replayed or out-of-date refund event takes nothing. What the balance cannot cover is
  added to ``users.credits_owed`` and the account is flagged.
- A refund for a payment intent no purchase knows yet is kept as an ``OrphanRefund`` and
  applied when the completion names that payment intent. Both sides take a transaction
  advisory lock on the payment intent id first, so a refund racing its completion is never
  lost between them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
import sqlalchemy as sa
import stripe
import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from api.config import CreditPack, Settings
from api.db import models as m
from api.domain.credits.services import REFERRAL_REWARD, CreditService
from api.domain.payments.demo import (
    DEMO_SESSION_PREFIX,
    DemoCheckoutGateway,
    demo_payment_intent,
    demo_session_event,
    format_price,
)
from api.domain.payments.schemas import (
    CheckoutStarted,
    StripeCharge,
    StripeCheckoutSession,
    StripeEventPayload,
    WebhookReceipt,
)
from api.domain.payments.stripe_gateway import CheckoutGateway, CheckoutRequest, StripeGateway
from api.errors import EchoesError, InvalidInput, NotFound

log = structlog.get_logger()

_Wire = TypeVar("_Wire", StripeCheckoutSession, StripeCharge)

#: Deliveries signed longer ago than this are refused (replayed captures of old deliveries).
WEBHOOK_TOLERANCE_SECONDS = 300

_PROGRESS = {
    m.PurchaseStatus.OPEN: 0,
    m.PurchaseStatus.AWAITING_PAYMENT: 1,
    m.PurchaseStatus.FAILED: 2,
    m.PurchaseStatus.EXPIRED: 2,
    m.PurchaseStatus.PAID: 3,
}


class InvalidWebhookSignature(EchoesError):
    status_code = 400
    code = "INVALID_SIGNATURE"
    title = "Invalid webhook signature"


class InvalidWebhookPayload(EchoesError):
    status_code = 400
    code = "INVALID_PAYLOAD"
    title = "Invalid webhook payload"


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


class StripeWebhookProcessor:
    """Verifies one webhook delivery and applies its event once, in the caller's transaction."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.secret = settings.stripe_webhook_secret
        self.credits = CreditService(session)

    def verify(self, payload: bytes, signature: str | None) -> StripeEventPayload:
        """Check the signature over the raw bytes (and its age), then decode the event.

        ``stripe.Webhook.construct_event`` is this same ``verify_header`` call followed by
        ``json.loads``; decoding with msgspec instead gives typed fields and a clean error
        for a body that is JSON but not an event (stripe 16.1 raises ``AttributeError``).
        """
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self.secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            log.warning("stripe_webhook_refused", reason=str(exc).split(" (", 1)[0][:120])
            raise InvalidWebhookSignature(
                "The Stripe-Signature header is missing, does not match this body, or is too old."
            ) from None
        except ValueError:
            raise InvalidWebhookPayload("The webhook body is not UTF-8 text.") from None
        try:
            return msgspec.json.decode(payload, type=StripeEventPayload)
        except msgspec.DecodeError as exc:
            raise InvalidWebhookPayload(f"The webhook body is not a Stripe event: {exc}") from None

    async def receive(self, payload: bytes, signature: str | None) -> WebhookReceipt:
        event = self.verify(payload, signature)
        first_time = await self.session.scalar(
            pg_insert(m.StripeEvent)
            .values(id=event.id, type=event.type, stripe_created=event.created)
            .on_conflict_do_nothing(index_elements=[m.StripeEvent.id])
            .returning(m.StripeEvent.id)
        )
        if first_time is None:
            log.info("stripe_event_duplicate", event_id=event.id, type=event.type)
            return WebhookReceipt(event_id=event.id, type=event.type, duplicate=True)
        handler = {
            "checkout.session.completed": self._session_completed,
            "checkout.session.async_payment_succeeded": self._async_payment_succeeded,
            "checkout.session.async_payment_failed": self._async_payment_failed,
            "checkout.session.expired": self._session_expired,
            "charge.refunded": self._charge_refunded,
        }.get(event.type)
        if handler is None:
            log.info("stripe_event_ignored", event_id=event.id, type=event.type)
        else:
            await handler(event.id, event.data.object)
        return WebhookReceipt(event_id=event.id, type=event.type, duplicate=False)

    # -- event handlers --------------------------------------------------------------------

    async def _session_completed(self, event_id: str, obj: dict[str, object]) -> None:
        checkout = _decode(obj, StripeCheckoutSession)
        purchase = await self._purchase_for(checkout, event_id)
        if purchase is None:
            return
        if checkout.payment_status == "paid":
            await self._fulfil(purchase, event_id)
        else:
            _advance(purchase, m.PurchaseStatus.AWAITING_PAYMENT)
            log.info(
                "purchase_awaiting_payment", event_id=event_id, purchase_id=str(purchase.id),
                payment_status=checkout.payment_status,
            )

    async def _async_payment_succeeded(self, event_id: str, obj: dict[str, object]) -> None:
        purchase = await self._purchase_for(_decode(obj, StripeCheckoutSession), event_id)
        if purchase is not None:
            await self._fulfil(purchase, event_id)

    async def _async_payment_failed(self, event_id: str, obj: dict[str, object]) -> None:
        purchase = await self._purchase_for(_decode(obj, StripeCheckoutSession), event_id)
        if purchase is not None and _advance(purchase, m.PurchaseStatus.FAILED):
            log.info("purchase_failed", event_id=event_id, purchase_id=str(purchase.id))

    async def _session_expired(self, event_id: str, obj: dict[str, object]) -> None:
        purchase = await self._purchase_for(_decode(obj, StripeCheckoutSession), event_id)
        if purchase is not None and _advance(purchase, m.PurchaseStatus.EXPIRED):
            log.info("purchase_expired", event_id=event_id, purchase_id=str(purchase.id))

    async def _charge_refunded(self, event_id: str, obj: dict[str, object]) -> None:
        charge = _decode(obj, StripeCharge)
        if not charge.payment_intent:
            log.warning("stripe_refund_without_payment_intent", event_id=event_id, charge_id=charge.id)
            return
        await self._lock_payment_intent(charge.payment_intent)
        purchase = await self.session.scalar(
            sa.select(m.Purchase)
            .where(m.Purchase.payment_intent_id == charge.payment_intent)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if purchase is None:
            held = pg_insert(m.OrphanRefund).values(
                charge_id=charge.id, payment_intent_id=charge.payment_intent,
                refunded_cents=charge.amount_refunded,
            )
            await self.session.execute(
                held.on_conflict_do_update(
                    index_elements=[m.OrphanRefund.charge_id],
                    set_={"refunded_cents": sa.func.greatest(m.OrphanRefund.refunded_cents, held.excluded.refunded_cents)},
                )
            )
            log.info(
                "stripe_refund_held", event_id=event_id, charge_id=charge.id,
                payment_intent=charge.payment_intent, refunded_cents=charge.amount_refunded,
            )
            return
        if charge.amount != purchase.amount_cents:
            log.warning(
                "stripe_charge_amount_mismatch", event_id=event_id, purchase_id=str(purchase.id),
                charge_amount=charge.amount, purchase_amount=purchase.amount_cents,
            )
        await self._record_refund(purchase, charge.amount_refunded, event_id)

    # -- purchase state --------------------------------------------------------------------

    async def _lock_payment_intent(self, payment_intent: str) -> None:
        """Serialise everything about one payment intent (refund vs. its completion)."""
        await self.session.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(
                    sa.func.hashtextextended(f"stripe-payment-intent:{payment_intent}", 0)
                )
            )
        )

    async def _purchase_for(self, checkout: StripeCheckoutSession, event_id: str) -> m.Purchase | None:
        """The session's purchase, locked; learns its payment intent and any refund held for it."""
        if checkout.payment_intent:
            await self._lock_payment_intent(checkout.payment_intent)
        purchase = await self.session.scalar(
            sa.select(m.Purchase)
            .where(m.Purchase.checkout_session_id == checkout.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if purchase is None:
            log.warning("stripe_session_unknown", event_id=event_id, session_id=checkout.id)
            return None
        if checkout.payment_intent and purchase.payment_intent_id is None:
            purchase.payment_intent_id = checkout.payment_intent
            held = list(
                await self.session.scalars(
                    sa.delete(m.OrphanRefund)
                    .where(m.OrphanRefund.payment_intent_id == checkout.payment_intent)
                    .returning(m.OrphanRefund.refunded_cents)
                )
            )
            if held:
                await self._record_refund(purchase, max(held), event_id)
        elif checkout.payment_intent and purchase.payment_intent_id != checkout.payment_intent:
            log.warning(
                "stripe_payment_intent_changed", event_id=event_id, purchase_id=str(purchase.id),
                known=purchase.payment_intent_id, received=checkout.payment_intent,
            )
        return purchase

    async def _fulfil(self, purchase: m.Purchase, event_id: str) -> None:
        _advance(purchase, m.PurchaseStatus.PAID)
        if purchase.paid_at is None:
            purchase.paid_at = datetime.now(UTC)
        if purchase.credits_granted:
            return
        await self.credits.grant(
            purchase.user_id, purchase.credits, m.CreditKind.PURCHASE, purchase.checkout_session_id,
            note=f"Bought {purchase.credits} credits for {format_price(purchase.amount_cents, purchase.currency)}",
        )
        purchase.credits_granted = True
        log.info(
            "purchase_granted", event_id=event_id, purchase_id=str(purchase.id),
            user_id=str(purchase.user_id), credits=purchase.credits, demo=purchase.demo,
        )
        await self._reward_referral(purchase.user_id)
        await self._take_back_refunded_credits(purchase, event_id)

    async def _reward_referral(self, user_id: uuid.UUID) -> None:
        """A referred person's first purchase earns both people the referral reward, once."""
        referrer_id = await self.session.scalar(sa.select(m.User.referred_by_id).where(m.User.id == user_id))
        if referrer_id is None:
            return
        reference = f"referral:{user_id}"
        rewarded = await self.credits.grant(
            user_id, REFERRAL_REWARD, m.CreditKind.REFERRAL, reference,
            note="Referral reward for your first purchase",
        )
        if rewarded is None:
            return
        await self.credits.grant(
            referrer_id, REFERRAL_REWARD, m.CreditKind.REFERRAL, reference,
            note="Referral reward: someone you invited made their first purchase",
        )
        log.info("referral_rewarded", user_id=str(user_id), referrer_id=str(referrer_id))

    async def _record_refund(self, purchase: m.Purchase, amount_refunded: int, event_id: str) -> None:
        refunded = min(amount_refunded, purchase.amount_cents)
        if refunded <= purchase.refunded_cents:
            return
        purchase.refunded_cents = refunded
        log.info(
            "purchase_refunded", event_id=event_id, purchase_id=str(purchase.id),
            refunded_cents=refunded, amount_cents=purchase.amount_cents,
        )
        if purchase.credits_granted:
            await self._take_back_refunded_credits(purchase, event_id)

    async def _take_back_refunded_credits(self, purchase: m.Purchase, event_id: str) -> None:
        """Take back the refunded share of the credits; flag the account for what is spent."""
        due = purchase.credits * purchase.refunded_cents // purchase.amount_cents
        to_take = due - purchase.credits_reversed
        if to_take <= 0:
            return
        refunded = format_price(purchase.refunded_cents, purchase.currency)
        taken = await self.credits.take_up_to(
            purchase.user_id, to_take, m.CreditKind.CHARGEBACK,
            f"{purchase.checkout_session_id}:refunded:{purchase.refunded_cents}",
            note=f"Payment refunded ({refunded} of {format_price(purchase.amount_cents, purchase.currency)})",
        )
        purchase.credits_reversed = due
        shortfall = to_take - taken
        if shortfall:
            owed_before = await self.session.scalar(
                sa.select(m.User.credits_owed).where(m.User.id == purchase.user_id).with_for_update()
            )
            total = (owed_before or 0) + shortfall
            await self.session.execute(
                sa.update(m.User)
                .where(m.User.id == purchase.user_id)
                .values(
                    credits_owed=total,
                    flagged_reason=(
                        f"Owes {total} credits: a refund of {refunded} on purchase {purchase.id} "
                        f"covered {shortfall} credits that were already spent."
                    ),
                )
            )
        log.info(
            "purchase_credits_taken_back", event_id=event_id, purchase_id=str(purchase.id),
            user_id=str(purchase.user_id), taken=taken, owed=shortfall,
        )


def _advance(purchase: m.Purchase, status: m.PurchaseStatus) -> bool:
    if _PROGRESS[status] > _PROGRESS[purchase.status]:
        purchase.status = status
        return True
    return False


def _decode(obj: dict[str, object], kind: type[_Wire]) -> _Wire:
    try:
        return msgspec.convert(obj, kind)
    except msgspec.ValidationError as exc:
        raise InvalidWebhookPayload(f"The event's object is not what its type promises: {exc}") from None
