"""accounts credit ledger and payments

Revision ID: b5a3becd58ea
Revises: bafa67ff3d20
Create Date: 2026-11-22 20:38:59.491076
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = 'b5a3becd58ea'
down_revision = 'bafa67ff3d20'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION credit_transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    op.create_table('orphan_refunds',
    sa.Column('charge_id', sa.String(length=255), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=False),
    sa.Column('refunded_cents', sa.Integer(), nullable=False),
    sa.Column('received_at', advanced_alchemy.types.DateTimeUTC(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('charge_id', name=op.f('pk_orphan_refunds'))
    )
    op.create_index(op.f('ix_orphan_refunds_payment_intent_id'), 'orphan_refunds', ['payment_intent_id'], unique=False)
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('stripe_created', sa.BigInteger(), nullable=False),
    sa.Column('processed_at', advanced_alchemy.types.DateTimeUTC(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.create_table('users',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('role', sa.Enum('user', 'admin', name='user_role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('credit_balance', sa.Integer(), nullable=False),
    sa.Column('referral_code', sa.String(length=16), nullable=False),
    sa.Column('referred_by_id', advanced_alchemy.types.GUID(length=16), nullable=True),
    sa.Column('credits_owed', sa.Integer(), nullable=False),
    sa.Column('flagged_reason', sa.Text(), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('credit_balance >= 0', name=op.f('ck_users_credit_balance_not_negative')),
    sa.CheckConstraint('credits_owed >= 0', name=op.f('ck_users_credits_owed_not_negative')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.CheckConstraint('referred_by_id IS NULL OR referred_by_id <> id', name=op.f('ck_users_no_self_referral')),
    sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'], name=op.f('fk_users_referred_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('referral_code', name=op.f('uq_users_referral_code'))
    )
    op.create_index(op.f('ix_users_referred_by_id'), 'users', ['referred_by_id'], unique=False)
    op.create_table('credit_transactions',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('purchase', 'signup_bonus', 'referral', 'share', 'generation', 'regeneration', 'refund', 'chargeback', 'adjustment', name='credit_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_credit_transactions_amount_not_zero')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_credit_transactions_balance_after_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_transactions_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_transactions'))
    )
    op.create_index('ix_credit_transactions_user_created', 'credit_transactions', ['user_id', 'created_at'], unique=False)
    op.create_index('uq_credit_transactions_once', 'credit_transactions', ['user_id', 'kind', 'reference'], unique=True, postgresql_where=sa.text("kind IN ('purchase', 'signup_bonus', 'referral', 'share', 'refund', 'chargeback')"))
    op.create_table('purchases',
    sa.Column('id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=False),
    sa.Column('checkout_session_id', sa.String(length=255), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('pack_id', sa.String(length=32), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('open', 'awaiting_payment', 'paid', 'failed', 'expired', name='purchase_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('credits_granted', sa.Boolean(), nullable=False),
    sa.Column('refunded_cents', sa.Integer(), nullable=False),
    sa.Column('credits_reversed', sa.Integer(), nullable=False),
    sa.Column('paid_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('credits_reversed >= 0 AND credits_reversed <= credits', name=op.f('ck_purchases_reversal_range')),
    sa.CheckConstraint('refunded_cents >= 0 AND refunded_cents <= amount_cents', name=op.f('ck_purchases_refund_range')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_purchases_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('checkout_session_id', name=op.f('uq_purchases_checkout_session_id')),
    sa.UniqueConstraint('payment_intent_id', name=op.f('uq_purchases_payment_intent_id'))
    )
    op.create_index(op.f('ix_purchases_user_id'), 'purchases', ['user_id'], unique=False)
    op.add_column('clips', sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=True))
    op.create_index(op.f('ix_clips_user_id'), 'clips', ['user_id'], unique=False)
    op.create_foreign_key(op.f('fk_clips_user_id_users'), 'clips', 'users', ['user_id'], ['id'], ondelete='CASCADE')
    op.add_column('photos', sa.Column('user_id', advanced_alchemy.types.GUID(length=16), nullable=True))
    op.create_index('ix_photos_user_id', 'photos', ['user_id'], unique=False)
    op.create_foreign_key(op.f('fk_photos_user_id_users'), 'photos', 'users', ['user_id'], ['id'], ondelete='CASCADE')
    op.drop_constraint(op.f('ck_photos_owner_present'), 'photos', type_='check')
    op.create_check_constraint(
        op.f('ck_photos_owner_present'), 'photos', 'visitor_id IS NOT NULL OR user_id IS NOT NULL'
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER credit_transactions_append_only BEFORE UPDATE OR DELETE ON credit_transactions "
        "FOR EACH ROW EXECUTE FUNCTION credit_transactions_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS credit_transactions_append_only ON credit_transactions")
    op.execute("DROP FUNCTION IF EXISTS credit_transactions_append_only()")
    op.drop_constraint(op.f('ck_photos_owner_present'), 'photos', type_='check')
    op.execute("DELETE FROM photos WHERE visitor_id IS NULL")
    op.create_check_constraint(op.f('ck_photos_owner_present'), 'photos', 'visitor_id IS NOT NULL')
    op.drop_constraint(op.f('fk_photos_user_id_users'), 'photos', type_='foreignkey')
    op.drop_index('ix_photos_user_id', table_name='photos')
    op.drop_column('photos', 'user_id')
    op.drop_constraint(op.f('fk_clips_user_id_users'), 'clips', type_='foreignkey')
    op.drop_index(op.f('ix_clips_user_id'), table_name='clips')
    op.drop_column('clips', 'user_id')
    op.drop_index(op.f('ix_purchases_user_id'), table_name='purchases')
    op.drop_table('purchases')
    op.drop_index('uq_credit_transactions_once', table_name='credit_transactions', postgresql_where=sa.text("kind IN ('purchase', 'signup_bonus', 'referral', 'share', 'refund', 'chargeback')"))
    op.drop_index('ix_credit_transactions_user_created', table_name='credit_transactions')
    op.drop_table('credit_transactions')
    op.drop_index(op.f('ix_users_referred_by_id'), table_name='users')
    op.drop_table('users')
    op.drop_table('stripe_events')
    op.drop_index(op.f('ix_orphan_refunds_payment_intent_id'), table_name='orphan_refunds')
    op.drop_table('orphan_refunds')
