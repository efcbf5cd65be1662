"""The Stripe webhook: the only thing that grants (or takes back) purchased credits.

:class:`StripeWebhookProcessor` verifies the ``Stripe-Signature`` on the raw body, then, in
the caller's transaction, inserts the event id into ``stripe_events`` (``ON CONFLICT DO
NOTHING``) *before* doing anything else: a concurrent delivery of the same event blocks on
that row until the first commits, then finds it and does nothing; if the first rolls back,
the retry does the work. Each handler is state-based, so events may arrive in any order:

- A purchase's ``status`` only moves forward: ``open`` -> ``awaiting_payment`` ->
  ``failed`` / ``expired``; ``paid`` overrides all of them (money that arrived is final);
  ``mismatch`` (the paid event's amount, currency or live/test mode is not what was sold)
  overrides everything and grants nothing: an operator has to look at it.
- Credits are granted once, when Stripe says the session is paid (``completed`` with
  ``payment_status=paid``, or ``async_payment_succeeded``), under the ledger's unique
  (user, ``purchase``, checkout session id).
- What refunds and disputes take back is recomputed from state each time:
  ``floor(credits * (refunded + disputed) / amount)``, where ``refunded_cents`` only grows
  (``amount_refunded`` is cumulative) and a dispute counts until it is closed as ``won``
  (or an inquiry as ``warning_closed``). ``credits_reversed`` records what has been
  reversed; a replayed or out-of-date event finds nothing left to do. What the balance
  cannot cover is recorded on the purchase (``credits_owed``) and the account
  (``users.credits_owed``, flagged). A won dispute cancels the debt first, then gives back
  what was taken.
- The first purchase of a referred person earns both referral bonuses (each side once its
  e-mail address is verified); refunding or disputing that purchase takes both back, a won
  dispute gives them back.
- A refund or a dispute for a payment intent no purchase knows yet is kept (an
  ``OrphanRefund``, a ``PaymentDispute``) and applied when the completion names that
  payment intent. Both sides take a transaction advisory lock on the payment intent id
  first, so nothing racing a completion is lost between them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
import sqlalchemy as sa
import stripe
import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db import models as m
from api.domain.credits.services import REFERRAL_REWARD, CreditService, referral_reference
from api.domain.payments.demo import format_price
from api.domain.payments.schemas import (
    StripeCharge,
    StripeCheckoutSession,
    StripeDispute,
    StripeEventPayload,
    WebhookReceipt,
)
from api.errors import EchoesError

log = structlog.get_logger()

_Wire = TypeVar("_Wire", StripeCheckoutSession, StripeCharge, StripeDispute)

#: Deliveries signed longer ago than this are refused (replayed captures of old deliveries).
WEBHOOK_TOLERANCE_SECONDS = 300

#: Dispute outcomes that leave the money with us: the credits it took come back.
DISPUTE_RETURNED = frozenset({"won", "warning_closed"})
#: Final dispute statuses; later ``created`` / ``updated`` deliveries are out of date.
DISPUTE_CLOSED = DISPUTE_RETURNED | {"lost"}

_PROGRESS = {
    m.PurchaseStatus.OPEN: 0,
    m.PurchaseStatus.AWAITING_PAYMENT: 1,
    m.PurchaseStatus.FAILED: 2,
    m.PurchaseStatus.EXPIRED: 2,
    m.PurchaseStatus.PAID: 3,
    m.PurchaseStatus.MISMATCH: 4,
}


class InvalidWebhookSignature(EchoesError):
    status_code = 400
    code = "INVALID_SIGNATURE"
    title = "Invalid webhook signature"


class InvalidWebhookPayload(EchoesError):
    status_code = 400
    code = "INVALID_PAYLOAD"
    title = "Invalid webhook payload"


class StripeWebhookProcessor:
    """Verifies one webhook delivery and applies its event once, in the caller's transaction."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.secret = settings.stripe_webhook_secret
        self.livemode = settings.stripe_livemode
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
            "charge.dispute.created": self._dispute_changed,
            "charge.dispute.closed": self._dispute_changed,
        }.get(event.type)
        if handler is None:
            log.info("stripe_event_ignored", event_id=event.id, type=event.type)
        elif event.livemode != self.livemode:
            log.error(
                "stripe_event_wrong_mode", event_id=event.id, type=event.type,
                livemode=event.livemode, expected=self.livemode,
            )
            if event.type.startswith("checkout.session."):
                await self._refuse_session(event)
        else:
            await handler(event)
        return WebhookReceipt(event_id=event.id, type=event.type, duplicate=False)

    # -- checkout sessions -----------------------------------------------------------------

    async def _session_completed(self, event: StripeEventPayload) -> None:
        checkout = _decode(event.data.object, StripeCheckoutSession)
        purchase = await self._purchase_for(checkout, event.id)
        if purchase is None:
            return
        if checkout.payment_status == "paid":
            await self._fulfil_if_matching(purchase, checkout, event.id)
        else:
            _advance(purchase, m.PurchaseStatus.AWAITING_PAYMENT)
            log.info(
                "purchase_awaiting_payment", event_id=event.id, purchase_id=str(purchase.id),
                payment_status=checkout.payment_status,
            )

    async def _async_payment_succeeded(self, event: StripeEventPayload) -> None:
        checkout = _decode(event.data.object, StripeCheckoutSession)
        purchase = await self._purchase_for(checkout, event.id)
        if purchase is not None:
            await self._fulfil_if_matching(purchase, checkout, event.id)

    async def _async_payment_failed(self, event: StripeEventPayload) -> None:
        purchase = await self._purchase_for(_decode(event.data.object, StripeCheckoutSession), event.id)
        if purchase is not None and _advance(purchase, m.PurchaseStatus.FAILED):
            log.info("purchase_failed", event_id=event.id, purchase_id=str(purchase.id))

    async def _session_expired(self, event: StripeEventPayload) -> None:
        purchase = await self._purchase_for(_decode(event.data.object, StripeCheckoutSession), event.id)
        if purchase is not None and _advance(purchase, m.PurchaseStatus.EXPIRED):
            log.info("purchase_expired", event_id=event.id, purchase_id=str(purchase.id))

    async def _refuse_session(self, event: StripeEventPayload) -> None:
        """A checkout event from the other mode (test vs live) never pays for anything."""
        checkout = _decode(event.data.object, StripeCheckoutSession)
        purchase = await self._locked_purchase(m.Purchase.checkout_session_id == checkout.id)
        if purchase is not None:
            self._record_mismatch(purchase, event.id, f"a {_mode(event.livemode)} event for a {_mode(self.livemode)} shop")

    async def _fulfil_if_matching(
        self, purchase: m.Purchase, checkout: StripeCheckoutSession, event_id: str
    ) -> None:
        """Grant only what was paid for: the session must carry the pack's amount and
        currency, in the mode (live or test) our key works in."""
        problems = []
        if checkout.amount_total != purchase.amount_cents:
            problems.append(f"amount_total {checkout.amount_total} instead of {purchase.amount_cents}")
        if (checkout.currency or "").lower() != purchase.currency.lower():
            problems.append(f"currency {checkout.currency!r} instead of {purchase.currency!r}")
        if checkout.livemode is not None and checkout.livemode != self.livemode:
            problems.append(f"a {_mode(checkout.livemode)} session for a {_mode(self.livemode)} shop")
        if problems:
            self._record_mismatch(purchase, event_id, "; ".join(problems))
            return
        await self._fulfil(purchase, event_id)

    def _record_mismatch(self, purchase: m.Purchase, event_id: str, reason: str) -> None:
        if purchase.credits_granted:
            log.error("stripe_paid_purchase_contradicted", event_id=event_id, purchase_id=str(purchase.id), reason=reason)
            return
        purchase.status = m.PurchaseStatus.MISMATCH
        purchase.mismatch_reason = reason[:500]
        log.error(
            "purchase_mismatch", event_id=event_id, purchase_id=str(purchase.id),
            user_id=str(purchase.user_id), reason=reason,
        )

    async def _fulfil(self, purchase: m.Purchase, event_id: str) -> None:
        if purchase.status == m.PurchaseStatus.MISMATCH:
            log.warning("purchase_mismatch_not_granted", event_id=event_id, purchase_id=str(purchase.id))
            return
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
        await self._mark_referral_first(purchase)
        await self._settle(purchase, event_id)
        if purchase.referral_first:
            rewarded = await self.credits.pay_referral_bonuses(purchase.user_id)
            if rewarded:
                log.info("referral_rewarded", user_id=str(purchase.user_id), paid=[str(r.user_id) for r in rewarded])

    async def _mark_referral_first(self, purchase: m.Purchase) -> None:
        """The referred buyer's first granted purchase is the one that earns the referral."""
        referrer_id = await self.session.scalar(
            sa.select(m.User.referred_by_id).where(m.User.id == purchase.user_id).with_for_update()
        )
        if referrer_id is None:
            return
        earlier = await self.session.scalar(
            sa.select(m.Purchase.id).where(
                m.Purchase.user_id == purchase.user_id, m.Purchase.referral_first.is_(True)
            )
        )
        if earlier is None:
            purchase.referral_first = True
            await self.session.flush()

    # -- refunds and disputes --------------------------------------------------------------

    async def _charge_refunded(self, event: StripeEventPayload) -> None:
        charge = _decode(event.data.object, StripeCharge)
        if not charge.payment_intent:
            log.warning("stripe_refund_without_payment_intent", event_id=event.id, charge_id=charge.id)
            return
        await self._lock_payment_intent(charge.payment_intent)
        purchase = await self._locked_purchase(m.Purchase.payment_intent_id == charge.payment_intent)
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
                "stripe_refund_held", event_id=event.id, charge_id=charge.id,
                payment_intent=charge.payment_intent, refunded_cents=charge.amount_refunded,
            )
            return
        if charge.amount != purchase.amount_cents:
            log.warning(
                "stripe_charge_amount_mismatch", event_id=event.id, purchase_id=str(purchase.id),
                charge_amount=charge.amount, purchase_amount=purchase.amount_cents,
            )
        await self._record_refund(purchase, charge.amount_refunded, event.id)

    async def _dispute_changed(self, event: StripeEventPayload) -> None:
        """``charge.dispute.created`` / ``.closed``: remember the dispute's latest state (a
        closed dispute stays closed), then settle its purchase's credits."""
        dispute = _decode(event.data.object, StripeDispute)
        if not dispute.payment_intent:
            log.warning("stripe_dispute_without_payment_intent", event_id=event.id, dispute_id=dispute.id)
            return
        await self._lock_payment_intent(dispute.payment_intent)
        known = await self.session.scalar(
            sa.select(m.PaymentDispute)
            .where(m.PaymentDispute.id == dispute.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if known is None:
            self.session.add(
                m.PaymentDispute(
                    id=dispute.id, payment_intent_id=dispute.payment_intent, charge_id=dispute.charge,
                    amount_cents=dispute.amount, currency=dispute.currency, status=dispute.status[:40],
                )
            )
            await self.session.flush()
        elif known.status in DISPUTE_CLOSED:
            log.info("stripe_dispute_already_closed", event_id=event.id, dispute_id=dispute.id, status=known.status)
            return
        else:
            known.status = dispute.status[:40]
            known.amount_cents = dispute.amount
        log.info(
            "stripe_dispute", event_id=event.id, dispute_id=dispute.id, status=dispute.status,
            payment_intent=dispute.payment_intent, amount=dispute.amount,
        )
        purchase = await self._locked_purchase(m.Purchase.payment_intent_id == dispute.payment_intent)
        if purchase is not None:
            await self._settle(purchase, event.id)

    async def _record_refund(self, purchase: m.Purchase, amount_refunded: int, event_id: str) -> None:
        refunded = min(amount_refunded, purchase.amount_cents)
        if refunded <= purchase.refunded_cents:
            return
        purchase.refunded_cents = refunded
        log.info(
            "purchase_refunded", event_id=event_id, purchase_id=str(purchase.id),
            refunded_cents=refunded, amount_cents=purchase.amount_cents,
        )
        await self._settle(purchase, event_id)

    async def _settle(self, purchase: m.Purchase, event_id: str) -> None:
        """Bring the credits taken back from a granted purchase to what its refunds and
        open (or lost) disputes call for now, and its referral bonuses with them."""
        if not purchase.credits_granted:
            return
        session_id, price = purchase.checkout_session_id, format_price(purchase.amount_cents, purchase.currency)
        refunded = format_price(purchase.refunded_cents, purchase.currency)
        refund_due = purchase.credits * purchase.refunded_cents // purchase.amount_cents
        if refund_due > purchase.credits_reversed:
            await self._reverse(
                purchase, refund_due, f"{session_id}:refunded:{purchase.refunded_cents}", event_id,
                note=f"Payment refunded ({refunded} of {price})",
                because=f"a refund of {refunded} on purchase {purchase.id}",
            )
        disputes = list(
            await self.session.scalars(
                sa.select(m.PaymentDispute)
                .where(m.PaymentDispute.payment_intent_id == purchase.payment_intent_id)
                .order_by(m.PaymentDispute.received_at, m.PaymentDispute.id)
            )
        ) if purchase.payment_intent_id else []
        counted = [d for d in disputes if d.status not in DISPUTE_RETURNED]
        returned = [d for d in disputes if d.status in DISPUTE_RETURNED]
        reversed_cents = min(purchase.amount_cents, purchase.refunded_cents + sum(d.amount_cents for d in counted))
        due = purchase.credits * reversed_cents // purchase.amount_cents
        if due > purchase.credits_reversed:
            disputed = format_price(counted[-1].amount_cents, purchase.currency)
            await self._reverse(
                purchase, due, f"{session_id}:dispute:{counted[-1].id}:{due}", event_id,
                note=f"Payment disputed ({disputed} of {price})",
                because=f"a dispute of {disputed} on purchase {purchase.id}",
            )
        elif due < purchase.credits_reversed and returned:
            await self._restore(purchase, due, f"{session_id}:dispute:{returned[-1].id}:won:{due}", event_id)
        await self._settle_referral(purchase, counted, returned, event_id)

    async def _reverse(
        self, purchase: m.Purchase, to: int, reference: str, event_id: str, *, note: str, because: str
    ) -> None:
        taken, owed = await self.credits.take_back(
            purchase.user_id, to - purchase.credits_reversed, reference, note=note, owed_because=because
        )
        purchase.credits_reversed = to
        purchase.credits_owed += owed
        log.info(
            "purchase_credits_taken_back", event_id=event_id, purchase_id=str(purchase.id),
            user_id=str(purchase.user_id), taken=taken, owed=owed, reference=reference,
        )

    async def _restore(self, purchase: m.Purchase, to: int, reference: str, event_id: str) -> None:
        """A won dispute: cancel what the account owes for it first, give back the rest."""
        give = purchase.credits_reversed - to
        forgiven = min(purchase.credits_owed, give)
        await self.credits.forgive(purchase.user_id, forgiven)
        purchase.credits_owed -= forgiven
        purchase.credits_reversed = to
        if give > forgiven:
            await self.credits.grant(
                purchase.user_id, give - forgiven, m.CreditKind.PURCHASE, reference,
                note="Dispute won: your credits are back",
            )
        log.info(
            "purchase_credits_restored", event_id=event_id, purchase_id=str(purchase.id),
            user_id=str(purchase.user_id), given=give - forgiven, forgiven=forgiven,
        )

    async def _settle_referral(
        self, purchase: m.Purchase, counted: list[m.PaymentDispute], returned: list[m.PaymentDispute],
        event_id: str,
    ) -> None:
        """A refunded or disputed first purchase earns no referral bonus: take both back
        (never below zero); a dispute won (with nothing refunded) gives them back."""
        if not purchase.referral_first:
            return
        referred_id = purchase.user_id
        referrer_id = await self.session.scalar(sa.select(m.User.referred_by_id).where(m.User.id == referred_id))
        sides = [uid for uid in (referred_id, referrer_id) if uid is not None]
        cause = "refund" if purchase.refunded_cents else (counted[-1].id if counted else None)
        if cause is not None and not purchase.referral_reversed:
            purchase.referral_reversed = True
            for uid in sides:
                if await self._referral_paid(uid, referred_id):
                    await self.credits.take_back(
                        uid, REFERRAL_REWARD, f"{referral_reference(referred_id)}:clawback:{cause}",
                        note="Referral reward taken back: the first purchase was refunded or disputed",
                        owed_because=f"a referral reward whose purchase {purchase.id} was refunded or disputed",
                    )
            log.info("referral_taken_back", event_id=event_id, referred_id=str(referred_id), cause=cause)
        elif cause is None and purchase.referral_reversed and returned:
            purchase.referral_reversed = False
            won = returned[-1].id
            for uid in sides:
                if not await self._referral_paid(uid, referred_id):
                    continue
                taken = await self.credits.taken_back(uid, f"{referral_reference(referred_id)}:clawback:{won}") or 0
                await self.credits.forgive(uid, REFERRAL_REWARD - taken)
                if taken:
                    await self.credits.grant(
                        uid, taken, m.CreditKind.REFERRAL, f"{referral_reference(referred_id)}:restored:{won}",
                        note="Referral reward back: the dispute was won",
                    )
            await self.credits.pay_referral_bonuses(referred_id)
            log.info("referral_restored", event_id=event_id, referred_id=str(referred_id), dispute_id=won)

    async def _referral_paid(self, user_id: uuid.UUID, referred_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            sa.select(m.CreditTransaction.id).where(
                m.CreditTransaction.user_id == user_id,
                m.CreditTransaction.kind == m.CreditKind.REFERRAL,
                m.CreditTransaction.reference == referral_reference(referred_id),
            )
        )
        return found is not None

    # -- purchase lookup -------------------------------------------------------------------

    async def _lock_payment_intent(self, payment_intent: str) -> None:
        """Serialise everything about one payment intent (refunds, disputes vs. its completion)."""
        await self.session.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(
                    sa.func.hashtextextended(f"stripe-payment-intent:{payment_intent}", 0)
                )
            )
        )

    async def _locked_purchase(self, condition: sa.ColumnElement[bool]) -> m.Purchase | None:
        return await self.session.scalar(
            sa.select(m.Purchase).where(condition).with_for_update().execution_options(populate_existing=True)
        )

    async def _purchase_for(self, checkout: StripeCheckoutSession, event_id: str) -> m.Purchase | None:
        """The session's purchase, locked; learns its payment intent and any refund held for it."""
        if checkout.payment_intent:
            await self._lock_payment_intent(checkout.payment_intent)
        purchase = await self._locked_purchase(m.Purchase.checkout_session_id == checkout.id)
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


def _mode(livemode: bool) -> str:
    return "live-mode" if livemode else "test-mode"


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
