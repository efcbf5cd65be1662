"""money holes: verified e-mail for bonuses, disputes, purchase mismatches

Revision ID: r2money01
Revises: 3544f4e27c36
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = "r2money01"
down_revision = "3544f4e27c36"
branch_labels = None
depends_on = None

_OLD_STATUSES = "'open', 'awaiting_payment', 'paid', 'failed', 'expired'"
_NEW_STATUSES = _OLD_STATUSES + ", 'mismatch'"


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email_verified_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True)
    )
    op.add_column("purchases", sa.Column("credits_owed", sa.Integer(), server_default="0", nullable=False))
    op.add_column("purchases", sa.Column("referral_first", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column(
        "purchases", sa.Column("referral_reversed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("purchases", sa.Column("mismatch_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_purchases_owed_range"), "purchases", "credits_owed >= 0 AND credits_owed <= credits_reversed"
    )
    op.create_index(
        "uq_purchases_referral_first", "purchases", ["user_id"], unique=True,
        postgresql_where=sa.text("referral_first"),
    )
    op.drop_constraint(op.f("ck_purchases_purchase_status"), "purchases", type_="check")
    op.create_check_constraint(op.f("ck_purchases_purchase_status"), "purchases", f"status IN ({_NEW_STATUSES})")
    op.create_table(
        "payment_disputes",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column("charge_id", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column(
            "received_at", advanced_alchemy.types.DateTimeUTC(timezone=True),
            server_default=sa.text("now()"), nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_disputes")),
    )
    op.create_index(
        op.f("ix_payment_disputes_payment_intent_id"), "payment_disputes", ["payment_intent_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_disputes_payment_intent_id"), table_name="payment_disputes")
    op.drop_table("payment_disputes")
    op.execute("UPDATE purchases SET status = 'failed' WHERE status = 'mismatch'")
    op.drop_constraint(op.f("ck_purchases_purchase_status"), "purchases", type_="check")
    op.create_check_constraint(op.f("ck_purchases_purchase_status"), "purchases", f"status IN ({_OLD_STATUSES})")
    op.drop_index("uq_purchases_referral_first", table_name="purchases", postgresql_where=sa.text("referral_first"))
    op.drop_constraint(op.f("ck_purchases_owed_range"), "purchases", type_="check")
    op.drop_column("purchases", "mismatch_reason")
    op.drop_column("purchases", "referral_reversed")
    op.drop_column("purchases", "referral_first")
    op.drop_column("purchases", "credits_owed")
    op.drop_column("users", "email_verified_at")
