"""One index less on sale_line: the unique (sale_id, line_no) one serves lookups by sale

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:10:00

sale_line.sale_id had an index of its own beside the unique (sale_id, line_no) one, which
already serves every lookup by sale; each line written paid for both.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sale_line', schema=None) as batch_op:
        batch_op.drop_index('ix_sale_line_sale_id')


def downgrade():
    with op.batch_alter_table('sale_line', schema=None) as batch_op:
        batch_op.create_index('ix_sale_line_sale_id', ['sale_id'], unique=False)
