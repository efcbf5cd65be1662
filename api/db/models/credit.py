from __future__ import annotations

import enum
import uuid

import sqlalchemy as sa
from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.types import str_enum


class CreditKind(enum.StrEnum):
    PURCHASE = "purchase"
    SIGNUP_BONUS = "signup_bonus"
    REFERRAL = "referral"
    SHARE = "share"
    GENERATION = "generation"
    REGENERATION = "regeneration"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    ADJUSTMENT = "adjustment"


#: Kinds that may happen at most once per (user, reference): enforced by a unique index.
IDEMPOTENT_KINDS = (
    CreditKind.PURCHASE,
    CreditKind.SIGNUP_BONUS,
    CreditKind.REFERRAL,
    CreditKind.SHARE,
    CreditKind.REFUND,
    CreditKind.CHARGEBACK,
)


class CreditTransaction(UUIDv7AuditBase):
    """One row of the append-only credit ledger (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "credit_transactions"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        sa.Index("ix_credit_transactions_user_created", "user_id", "created_at"),
        sa.Index(
            "uq_credit_transactions_once",
            "user_id",
            "kind",
            "reference",
            unique=True,
            postgresql_where=sa.text(
                "kind IN (" + ", ".join(f"'{k.value}'" for k in IDEMPOTENT_KINDS) + ")"
            ),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind, "credit_kind"))
    reference: Mapped[str] = mapped_column(sa.String(200))
    balance_after: Mapped[int] = mapped_column(sa.Integer)
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
