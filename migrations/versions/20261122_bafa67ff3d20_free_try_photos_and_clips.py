"""free try photos and clips

Revision ID: bafa67ff3d20
Revises: 
Create Date: 2026-11-22 20:28:09.906270
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = 'bafa67ff3d20'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('visitor_id', sa.Uuid(), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=255), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('source_format', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('visitor_id IS NOT NULL', name=op.f('ck_photos_owner_present')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_photos_storage_key')),
    sa.UniqueConstraint('thumbnail_key', name=op.f('uq_photos_thumbnail_key'))
    )
    op.create_index('ix_photos_visitor_id', 'photos', ['visitor_id'], unique=False)
    op.create_table('clips',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('kind', sa.Enum('free_try', 'project', name='clip_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('queued', 'generating', 'succeeded', 'failed', name='clip_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('photo_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('visitor_id', sa.Uuid(), nullable=True),
    sa.Column('client_ip_hash', sa.String(length=64), nullable=True),
    sa.Column('aspect', sa.String(length=8), nullable=False),
    sa.Column('watermarked', sa.Boolean(), nullable=False),
    sa.Column('intro_seconds', sa.Float(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('provider_job_id', sa.String(length=128), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('video_key', sa.String(length=255), nullable=True),
    sa.Column('poster_key', sa.String(length=255), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('queued_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('started_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('finished_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('generation_ms', sa.Integer(), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 1', name=op.f('ck_clips_progress_range')),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_clips_photo_id_photos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clips'))
    )
    op.create_index('ix_clips_client_ip_created', 'clips', ['client_ip_hash', 'created_at'], unique=False)
    op.create_index('ix_clips_status', 'clips', ['status'], unique=False)
    op.create_index('ix_clips_visitor_created', 'clips', ['visitor_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_clips_visitor_created', table_name='clips')
    op.drop_index('ix_clips_status', table_name='clips')
    op.drop_index('ix_clips_client_ip_created', table_name='clips')
    op.drop_table('clips')
    op.drop_index('ix_photos_visitor_id', table_name='photos')
    op.drop_table('photos')
