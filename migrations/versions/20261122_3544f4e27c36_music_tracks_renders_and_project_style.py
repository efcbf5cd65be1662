"""music tracks renders and project style

Revision ID: 3544f4e27c36
Revises: push0001
Create Date: 2026-11-22 21:07:41.798971
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '3544f4e27c36'
down_revision = 'push0001'
branch_labels = None
depends_on = None

PROJECT_CHECKS = (
    ("music_volume_range", "music_volume >= 0 AND music_volume <= 1"),
    ("music_offset_not_negative", "music_start_offset >= 0"),
    ("transition_known", "transition_kind IN ('cut', 'crossfade', 'fade_black', 'slide', 'wipe')"),
    ("transition_range", "transition_duration >= 0 AND transition_duration <= 2"),
)


def upgrade() -> None:
    op.create_table('music_tracks',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=True),
    sa.Column('source', sa.Enum('builtin', 'upload', name='track_source', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('mood', sa.String(length=40), nullable=True),
    sa.Column('bpm', sa.Float(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('preview_key', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("(source = 'builtin') = (user_id IS NULL)", name=op.f('ck_music_tracks_builtin_tracks_have_no_owner')),
    sa.CheckConstraint('duration_seconds > 0', name=op.f('ck_music_tracks_duration_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_music_tracks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_music_tracks')),
    sa.UniqueConstraint('slug', name=op.f('uq_music_tracks_slug')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_music_tracks_storage_key'))
    )
    op.create_index('ix_music_tracks_user_id', 'music_tracks', ['user_id'], unique=False)
    op.create_table('renders',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('status', sa.Enum('queued', 'rendering', 'succeeded', 'failed', 'cancelled', name='render_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('watermarked', sa.Boolean(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('video_key', sa.String(length=255), nullable=True),
    sa.Column('poster_key', sa.String(length=255), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('render_seconds', sa.Float(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('failure_detail', sa.Text(), nullable=True),
    sa.Column('share_slug', sa.String(length=32), nullable=True),
    sa.Column('shared_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('started_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('finished_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 1', name=op.f('ck_renders_progress_range')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_renders_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_renders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renders')),
    sa.UniqueConstraint('share_slug', name=op.f('uq_renders_share_slug'))
    )
    op.create_index('ix_renders_project_created', 'renders', ['project_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_renders_user_id'), 'renders', ['user_id'], unique=False)
    op.create_index('uq_renders_one_active_per_project', 'renders', ['project_id'], unique=True, postgresql_where=sa.text("status IN ('queued', 'rendering')"))
    op.add_column('clips', sa.Column('caption', sa.String(length=200), nullable=True))
    op.add_column('projects', sa.Column('music_track_id', advanced_alchemy.types.GUID(length=16), nullable=True))
    op.add_column('projects', sa.Column('music_start_offset', sa.Float(), server_default='0', nullable=False))
    op.add_column('projects', sa.Column('music_volume', sa.Float(), server_default='0.8', nullable=False))
    op.add_column('projects', sa.Column('beat_sync', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('projects', sa.Column('transition_kind', sa.String(length=16), server_default='crossfade', nullable=False))
    op.add_column('projects', sa.Column('transition_duration', sa.Float(), server_default='0.5', nullable=False))
    op.add_column('projects', sa.Column('title_card', sa.String(length=120), nullable=True))
    op.create_foreign_key(op.f('fk_projects_music_track_id_music_tracks'), 'projects', 'music_tracks', ['music_track_id'], ['id'], ondelete='SET NULL')
    for name, condition in PROJECT_CHECKS:
        op.create_check_constraint(op.f(f"ck_projects_{name}"), "projects", condition)


def downgrade() -> None:
    for name, _ in PROJECT_CHECKS:
        op.drop_constraint(op.f(f"ck_projects_{name}"), "projects", type_="check")
    op.drop_constraint(op.f('fk_projects_music_track_id_music_tracks'), 'projects', type_='foreignkey')
    op.drop_column('projects', 'title_card')
    op.drop_column('projects', 'transition_duration')
    op.drop_column('projects', 'transition_kind')
    op.drop_column('projects', 'beat_sync')
    op.drop_column('projects', 'music_volume')
    op.drop_column('projects', 'music_start_offset')
    op.drop_column('projects', 'music_track_id')
    op.drop_column('clips', 'caption')
    op.drop_index('uq_renders_one_active_per_project', table_name='renders', postgresql_where=sa.text("status IN ('queued', 'rendering')"))
    op.drop_index(op.f('ix_renders_user_id'), table_name='renders')
    op.drop_index('ix_renders_project_created', table_name='renders')
    op.drop_table('renders')
    op.drop_index('ix_music_tracks_user_id', table_name='music_tracks')
    op.drop_table('music_tracks')
