from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base
from api.db.models.types import str_enum


class PurchaseStatus(enum.StrEnum):
    OPEN = "open"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    #: The paid event did not match what was sold (amount, currency or live/test mode):
    #: nothing is granted, and an operator has to look at it.
    MISMATCH = "mismatch"


class Purchase(UUIDv7AuditBase):
    """A credit pack bought through one Stripe Checkout Session (or the demo checkout).

    Webhooks arrive in any order; this row holds the state they converge on: whether the
    credits were granted, how much of the payment was refunded, how many credits that took back.
    """

    __tablename__ = "purchases"
    __table_args__ = (
        sa.CheckConstraint("refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_range"),
        sa.CheckConstraint("credits_reversed >= 0 AND credits_reversed <= credits", name="reversal_range"),
        sa.CheckConstraint("credits_owed >= 0 AND credits_owed <= credits_reversed", name="owed_range"),
        sa.Index("uq_purchases_referral_first", "user_id", unique=True, postgresql_where=sa.text("referral_first")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    checkout_session_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, unique=True)
    pack_id: Mapped[str] = mapped_column(sa.String(32))
    credits: Mapped[int] = mapped_column(sa.Integer)
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[PurchaseStatus] = mapped_column(
        str_enum(PurchaseStatus, "purchase_status"), default=PurchaseStatus.OPEN
    )
    demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    credits_granted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    refunded_cents: Mapped[int] = mapped_column(sa.Integer, default=0)
    credits_reversed: Mapped[int] = mapped_column(sa.Integer, default=0)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: Credits this purchase should have taken back (refunds, disputes) that the balance
    #: no longer held; the account owes them (``users.credits_owed`` holds the total).
    credits_owed: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    #: The referred buyer's first purchase, the one that earns both referral bonuses.
    referral_first: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: Whether those referral bonuses are currently taken back (refunded or disputed).
    referral_reversed: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    mismatch_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class StripeEvent(Base):
    """A webhook event already processed: recorded in the same transaction as its effect."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    stripe_created: Mapped[int] = mapped_column(sa.BigInteger)
    processed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=sa.func.now())


class OrphanRefund(Base):
    """A ``charge.refunded`` that arrived before the purchase it belongs to was known."""

    __tablename__ = "orphan_refunds"

    charge_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    refunded_cents: Mapped[int] = mapped_column(sa.Integer)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=sa.func.now())


class PaymentDispute(Base):
    """A ``charge.dispute.*`` as last seen, keyed by the dispute id (``dp_…``).

    Kept apart from the purchase so that a dispute arriving before the purchase learns its
    payment intent is applied when it does, like an :class:`OrphanRefund`.
    """

    __tablename__ = "payment_disputes"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    charge_id: Mapped[str] = mapped_column(sa.String(255))
    amount_cents: Mapped[int] = mapped_column(sa.Integer)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(40))
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), server_default=sa.func.now())
