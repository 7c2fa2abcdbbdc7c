"""Till logins are rows that logout deletes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:00:00

`staff_session`: one row per login at the till, named by the signed cookie (the SHA-256 of its
token); logout, a new password or deactivation deletes it. Wrong PINs and passwords are now
counted by throttles in the rate-limit storage (pos_loyalty/throttles.py): the counters and
locks of `account` and `staff` stay, unused, so that servers of the previous version still run
during a rolling deploy; a later migration may drop them.

Downgrade: every till login ends (the older version keeps no session rows).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name=op.f('fk_staff_session_staff_id_staff'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_staff_session_token_hash')),
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_staff_id'), ['staff_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_staff_id'))
    op.drop_table('staff_session')
