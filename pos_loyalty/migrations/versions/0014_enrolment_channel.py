"""Where customers enrol, receipts without a card, and what each SMS cost

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 13:40:00

Accounts made before this revision keep no channel (NULL): the analytics count them as
"before channels were recorded" rather than guess.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrolled_via', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('enrolled_store_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_account_enrolled_store_id_store'), 'store',
                                    ['enrolled_store_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_account_enrolled_via_known'),
            "enrolled_via IN ('till', 'app', 'import', 'back_office', 'cli')")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_micros', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('price_unit', sa.String(length=3), nullable=True))
    op.create_table('terminal_day',
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('receipts_without_card', sa.BigInteger(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('receipts_without_card >= 0', name=op.f('ck_terminal_day_receipts_not_negative')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_terminal_day_program_id_program')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_terminal_day_store_id_store')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_terminal_day_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('terminal_id', 'day', name=op.f('pk_terminal_day'))
    )
    with op.batch_alter_table('terminal_day', schema=None) as batch_op:
        batch_op.create_index('ix_terminal_day_program_id_day', ['program_id', 'day'], unique=False)


def downgrade():
    with op.batch_alter_table('terminal_day', schema=None) as batch_op:
        batch_op.drop_index('ix_terminal_day_program_id_day')
    op.drop_table('terminal_day')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('price_unit')
        batch_op.drop_column('price_micros')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_enrolled_via_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_account_enrolled_store_id_store'), type_='foreignkey')
        batch_op.drop_column('enrolled_store_id')
        batch_op.drop_column('enrolled_via')
