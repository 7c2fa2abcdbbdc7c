"""The store an SMS tells about, so the shift report counts a store's own SMS

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00

SMS written before this revision name no store: they count for all stores only.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_outbox_message_store_id_store'), 'store',
                                    ['store_id'], ['id'])
        batch_op.create_index('ix_outbox_message_store_id_created_at',
                              ['store_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_store_id_created_at')
        batch_op.drop_constraint(op.f('fk_outbox_message_store_id_store'), type_='foreignkey')
        batch_op.drop_column('store_id')
