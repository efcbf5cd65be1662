"""user sessions: server-side sessions with rotating refresh tokens

Revision ID: r2sess01
Revises: r2money01
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "r2sess01"
down_revision = "r2money01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("ip_network", sa.String(length=64), nullable=True),
        sa.Column("last_seen_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("refresh_generation", sa.Integer(), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("refreshed_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
