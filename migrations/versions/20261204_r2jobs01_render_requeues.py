"""render requeues: how often the render sweep queued a lost render again

Revision ID: r2jobs01
Revises: r2data01
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r2jobs01"
down_revision = "r2data01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("renders", sa.Column("requeues", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("renders", "requeues")
