"""music uploads are transcoded by a job: a track's status, failure and raw upload key

Revision ID: r2media01
Revises: r2sess01
Create Date: 2026-12-04 19:00:00.000000

An uploaded track is stored raw and recorded as ``processing``; the ``transcode_music`` job
turns it into the stored AAC file and marks it ``ready`` (or ``failed`` with a sentence for
the person). Tracks that exist already were transcoded in the request: they are ``ready``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r2media01"
down_revision = "r2sess01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "music_tracks",
        sa.Column(
            "status",
            sa.Enum("processing", "ready", "failed", name="track_status", native_enum=False, create_constraint=True, length=16),
            server_default="ready",
            nullable=False,
        ),
    )
    op.add_column("music_tracks", sa.Column("failure", sa.Text(), nullable=True))
    op.add_column("music_tracks", sa.Column("source_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("music_tracks", "source_key")
    op.drop_column("music_tracks", "failure")
    op.drop_column("music_tracks", "status")
    op.execute("ALTER TABLE music_tracks DROP CONSTRAINT IF EXISTS track_status")
