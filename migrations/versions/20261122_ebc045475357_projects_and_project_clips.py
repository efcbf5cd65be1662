"""projects and project clips

Revision ID: ebc045475357
Revises: b5a3becd58ea
Create Date: 2026-11-22 20:45:18.319282
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import postgresql

revision = 'ebc045475357'
down_revision = 'b5a3becd58ea'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('aspect', sa.String(length=8), nullable=False),
    sa.Column('regenerations_used', sa.Integer(), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("aspect IN ('16:9', '9:16', '1:1')", name=op.f('ck_projects_aspect_known')),
    sa.CheckConstraint('regenerations_used >= 0', name=op.f('ck_projects_regenerations_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_projects_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    op.create_index('ix_projects_user_created', 'projects', ['user_id', 'created_at'], unique=False)
    op.add_column('clips', sa.Column('project_id', advanced_alchemy.types.GUID(length=16), nullable=True))
    op.add_column('clips', sa.Column('position', sa.Integer(), nullable=True))
    op.add_column('clips', sa.Column('prompt', sa.String(length=500), nullable=True))
    op.add_column('clips', sa.Column('generation', sa.Integer(), server_default='0', nullable=False))
    op.add_column('clips', sa.Column('charged_credits', sa.Integer(), server_default='0', nullable=False))
    op.add_column('clips', sa.Column('provider_cost', sa.Float(), nullable=True))
    op.add_column('clips', sa.Column('failure_detail', sa.Text(), nullable=True))
    op.alter_column('clips', 'queued_at',
               existing_type=postgresql.TIMESTAMP(timezone=True),
               nullable=True)
    op.create_index('ix_clips_project_position', 'clips', ['project_id', 'position'], unique=False)
    op.create_foreign_key(op.f('fk_clips_project_id_projects'), 'clips', 'projects', ['project_id'], ['id'], ondelete='CASCADE')
    op.drop_constraint(op.f('ck_clips_clip_status'), 'clips', type_='check')
    op.create_check_constraint(
        op.f('ck_clips_clip_status'), 'clips',
        "status IN ('draft', 'queued', 'generating', 'succeeded', 'failed')",
    )
    op.create_check_constraint(
        op.f('ck_clips_project_clips_placed'), 'clips',
        "(kind = 'project') = (project_id IS NOT NULL AND position IS NOT NULL)",
    )
    op.create_check_constraint(op.f('ck_clips_charged_not_negative'), 'clips', 'charged_credits >= 0')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_clips_charged_not_negative'), 'clips', type_='check')
    op.drop_constraint(op.f('ck_clips_project_clips_placed'), 'clips', type_='check')
    op.execute("DELETE FROM clips WHERE status = 'draft'")
    op.drop_constraint(op.f('ck_clips_clip_status'), 'clips', type_='check')
    op.create_check_constraint(
        op.f('ck_clips_clip_status'), 'clips', "status IN ('queued', 'generating', 'succeeded', 'failed')"
    )
    op.drop_constraint(op.f('fk_clips_project_id_projects'), 'clips', type_='foreignkey')
    op.drop_index('ix_clips_project_position', table_name='clips')
    op.alter_column('clips', 'queued_at',
               existing_type=postgresql.TIMESTAMP(timezone=True),
               nullable=False)
    op.drop_column('clips', 'failure_detail')
    op.drop_column('clips', 'provider_cost')
    op.drop_column('clips', 'charged_credits')
    op.drop_column('clips', 'generation')
    op.drop_column('clips', 'prompt')
    op.drop_column('clips', 'position')
    op.execute("DELETE FROM clips WHERE project_id IS NOT NULL")
    op.drop_column('clips', 'project_id')
    op.drop_index('ix_projects_user_created', table_name='projects')
    op.drop_table('projects')
