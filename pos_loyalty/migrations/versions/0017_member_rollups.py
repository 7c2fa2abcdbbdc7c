"""Monthly rollups of members: who bought when, their reach and cohorts

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 13:40:00

Derived data (pos_loyalty.analytics.members): `pos-loyalty rollup --rebuild-from DATE` fills
the tables again after an upgrade; the downgrade drops them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_month',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('purchases', sa.Integer(), nullable=False),
    sa.Column('spent_minor', sa.BigInteger(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('previous_month', sa.Date(), nullable=True),
    sa.Column('repeat_month', sa.Date(), nullable=True),
    sa.Column('previous_repeat_month', sa.Date(), nullable=True),
    sa.Column('previous_last_day', sa.Date(), nullable=True),
    sa.CheckConstraint('purchases > 0', name=op.f('ck_member_month_purchases_positive')),
    sa.PrimaryKeyConstraint('program_id', 'month', 'store_id', 'account_id', name=op.f('pk_member_month'))
    )
    with op.batch_alter_table('member_month', schema=None) as batch_op:
        batch_op.create_index('ix_member_month_member', ['program_id', 'store_id', 'account_id', 'month'], unique=False)
    op.create_table('member_reach',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('as_of_month', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('buyers', sa.Integer(), nullable=False),
    sa.Column('repeaters', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_member_reach_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'store_id', 'as_of_month', 'month', name=op.f('pk_member_reach'))
    )
    op.create_table('member_last_day',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('as_of_month', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_member_last_day_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'as_of_month', 'store_id', 'day', name=op.f('pk_member_last_day'))
    )
    op.create_table('member_activity',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('as_of_day', sa.Date(), nullable=False),
    sa.Column('buyers', sa.Integer(), nullable=False),
    sa.Column('purchases', sa.Integer(), nullable=False),
    sa.Column('spent_minor', sa.BigInteger(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('active_30', sa.Integer(), nullable=False),
    sa.Column('active_90', sa.Integer(), nullable=False),
    sa.Column('active_365', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_member_activity_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'store_id', 'month', name=op.f('pk_member_activity'))
    )
    op.create_table('cohort_month',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_cohort_month_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'store_id', 'first_month', 'month', name=op.f('pk_cohort_month'))
    )


def downgrade():
    op.drop_table('cohort_month')
    op.drop_table('member_activity')
    op.drop_table('member_last_day')
    op.drop_table('member_reach')
    with op.batch_alter_table('member_month', schema=None) as batch_op:
        batch_op.drop_index('ix_member_month_member')
    op.drop_table('member_month')
