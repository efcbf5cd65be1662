"""account deletion: a deleted account's tombstone, and redaction of free-text ledger notes

Revision ID: r2data01
Revises: r2media01
Create Date: 2026-12-04 10:00:00.000000

A deleted account keeps its ``users`` row as an anonymous tombstone (``deleted_at`` set, no
e-mail, name or password left) because the credit ledger and purchases must stay for
accounting and point at it. The ledger stays append-only except for one narrow redaction:
setting ``note`` (free text an administrator may have typed) to NULL, nothing else changed.
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "r2data01"
down_revision = "r2media01"
branch_labels = None
depends_on = None

APPEND_ONLY_WITH_REDACTION = """
CREATE OR REPLACE FUNCTION credit_transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.note IS NULL
       AND to_jsonb(NEW) - 'note' - 'updated_at' = to_jsonb(OLD) - 'note' - 'updated_at' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'credit_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION credit_transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("deleted_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    )
    op.execute(APPEND_ONLY_WITH_REDACTION)


def downgrade() -> None:
    op.execute(APPEND_ONLY)
    op.drop_column("users", "deleted_at")
