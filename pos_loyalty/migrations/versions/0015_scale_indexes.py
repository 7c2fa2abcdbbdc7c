"""Indexes for a national chain's year of data (expiry, pending points, verify)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 13:40:00

The expire job read point_lot whole three times an hour (accounts with lots expired, with
pending lots due, lots to warn of), and a card look-up or /me/balance walked every lot of
the account to find its pending points due. Two partial indexes, each holding only the lots
those reads look for:

- ix_point_lot_pending (account_id, available_at) of pending lots only: empty when the program
  has no return window; the release takes the lot out of it.
- ix_point_lot_expiring (program_id, expires_at) of released lots with points left: the lots
  expired but not yet settled, and those to warn of. A spent or expired lot leaves it. Its
  predicate names `remaining`, which every spend changes: those updates can no longer be
  HOT (heap-only) and write a new entry in each point_lot index (docs/scale_paths.md says
  what that costs a checkout).

Predicates are spelled as the queries are (`released IS true`), so the planners prove them.
Building them reads point_lot once and holds its writes back while it lasts (a minute on
10 M lots): deploy in a quiet hour.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PENDING = {"postgresql_where": sa.text("released IS false"),
           "sqlite_where": sa.text("released IS 0")}
EXPIRING = {"postgresql_where": sa.text("released IS true AND remaining > 0"),
            "sqlite_where": sa.text("released IS 1 AND remaining > 0")}


def upgrade():
    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.create_index('ix_point_lot_pending', ['account_id', 'available_at'],
                              unique=False, **PENDING)
        batch_op.create_index('ix_point_lot_expiring', ['program_id', 'expires_at'],
                              unique=False, **EXPIRING)


def downgrade():
    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.drop_index('ix_point_lot_expiring')
        batch_op.drop_index('ix_point_lot_pending')
