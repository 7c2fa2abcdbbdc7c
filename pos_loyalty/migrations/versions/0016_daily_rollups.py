"""Daily rollups of sales, points, enrolments and SMS; give-backs dated for the liability

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:40:00

New tables: the daily rollups (rollup_day, rollup_sms_cost_day, rollup_tier_day,
rollup_campaign_day, rollup_liability_day: derived data, rebuilt by `pos-loyalty rollup
--rebuild-from DATE`) and lot_give_back (what give-backs put back into lots, dated by their
entry). point_lot gains released_at. Indexes let the rollups read a program's days: on
ledger_entry, sale_return, account, tier_change and (partial, rows of no store) outbox_message.
Give-backs and releases made before this revision are not dated: a liability as of a day
before it may count them on the wrong day.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rollup_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sales', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sales_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sales_with_points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sales_with_points_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('cash_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('redeemed_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('returns', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('returned_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_earned', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_campaign', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_bonus', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_expired', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_taken_back', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_adjusted', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_imported', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_till', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_app', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_import', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_back_office', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_cli', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('enrolled_unknown', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('receipts_without_card', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sms_sent', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sms_delivered', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sms_failed', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'day', 'store_id', name=op.f('pk_rollup_day'))
    )
    op.create_table('rollup_sms_cost_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('price_unit', sa.String(length=3), nullable=False),
    sa.Column('messages', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('cost_micros', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_sms_cost_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'day', 'store_id', 'price_unit', name=op.f('pk_rollup_sms_cost_day'))
    )
    op.create_table('rollup_tier_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('from_tier', sa.String(length=40), nullable=False),
    sa.Column('to_tier', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_tier_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'day', 'from_tier', 'to_tier', 'reason', name=op.f('pk_rollup_tier_day'))
    )
    op.create_table('rollup_campaign_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sales', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sales_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_rollup_campaign_day_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_campaign_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'campaign_id', 'day', 'store_id', name=op.f('pk_rollup_campaign_day'))
    )
    op.create_table('rollup_liability_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('expiry_month', sa.Date(), nullable=False),
    sa.Column('available', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pending', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_liability_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'day', 'expiry_month', name=op.f('pk_rollup_liability_day'))
    )
    op.create_table('lot_give_back',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_lot_give_back_points_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_lot_give_back_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['lot_id'], ['point_lot.id'], name=op.f('fk_lot_give_back_lot_id_point_lot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_give_back'))
    )
    with op.batch_alter_table('lot_give_back', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_give_back_entry_id'), ['entry_id'], unique=False)
    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(), nullable=True))
    op.create_index('ix_ledger_entry_program_id_created_at', 'ledger_entry',
                    ['program_id', 'created_at'], unique=False)
    op.create_index('ix_sale_return_program_id_created_at', 'sale_return',
                    ['program_id', 'created_at'], unique=False)
    op.create_index('ix_account_program_id_created_at', 'account',
                    ['program_id', 'created_at'], unique=False)
    op.create_index('ix_tier_change_program_id_created_at', 'tier_change',
                    ['program_id', 'created_at'], unique=False)
    op.create_index('ix_outbox_message_program_id_created_at_no_store', 'outbox_message',
                    ['program_id', 'created_at'], unique=False,
                    postgresql_where=sa.text('store_id IS NULL'),
                    sqlite_where=sa.text('store_id IS NULL'))


def downgrade():
    op.drop_index('ix_outbox_message_program_id_created_at_no_store', table_name='outbox_message')
    op.drop_index('ix_tier_change_program_id_created_at', table_name='tier_change')
    op.drop_index('ix_account_program_id_created_at', table_name='account')
    op.drop_index('ix_sale_return_program_id_created_at', table_name='sale_return')
    op.drop_index('ix_ledger_entry_program_id_created_at', table_name='ledger_entry')
    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.drop_column('released_at')
    with op.batch_alter_table('lot_give_back', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_give_back_entry_id'))
    op.drop_table('lot_give_back')
    op.drop_table('rollup_liability_day')
    op.drop_table('rollup_campaign_day')
    op.drop_table('rollup_tier_day')
    op.drop_table('rollup_sms_cost_day')
    op.drop_table('rollup_day')
