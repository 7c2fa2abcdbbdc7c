"""Back office: roles, two-factor sign-in, audit before/after, adjustments waiting for approval

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:00:00

Staff gain the back office's roles (marketing, support, finance) and a TOTP secret (kept
encrypted) with the last time step used, so a code is good once. An audit event gains what the
changed thing was before and after. A support adjustment above the program's limit waits in
`adjustment_request` until an admin approves or rejects it. A terminal records when it was
last seen, a card batch its label, and the ledger the kind `import` (opening balances brought
from another system).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('cashier', 'manager', 'admin')"
ROLES_NOW = "role IN ('cashier', 'manager', 'admin', 'marketing', 'support', 'finance')"
KINDS_BEFORE = ("kind IN ('earn', 'redeem', 'return_reverse', 'return_restore', 'void_reverse', "
                "'void_restore', 'hold', 'hold_release', 'adjust', 'expire', 'release', 'bonus', "
                "'campaign', 'signup', 'birthday', 'referral')")
KINDS_NOW = ("kind IN ('earn', 'redeem', 'return_reverse', 'return_restore', 'void_reverse', "
             "'void_restore', 'hold', 'hold_release', 'adjust', 'expire', 'release', 'bonus', "
             "'campaign', 'signup', 'birthday', 'referral', 'import')")


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f('ck_staff_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_staff_role_known'), ROLES_NOW)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('after', sa.JSON(), nullable=True))
        batch_op.create_index('ix_audit_event_program_id_id', ['program_id', 'id'], unique=False)

    op.add_column('terminal', sa.Column('last_seen_at', sa.DateTime(), nullable=True))
    op.add_column('card_batch', sa.Column('label', sa.String(length=100), nullable=False,
                                          server_default=''))

    op.create_table('adjustment_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('ledger_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_adjustment_request_status_known')),
    sa.CheckConstraint('points <> 0', name=op.f('ck_adjustment_request_points_not_zero')),
    sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f('ck_adjustment_request_decided_when_not_pending')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_adjustment_request_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_adjustment_request_program_id_program')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entry.id'], name=op.f('fk_adjustment_request_ledger_entry_id_ledger_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustment_request'))
    )
    with op.batch_alter_table('adjustment_request', schema=None) as batch_op:
        batch_op.create_index('ix_adjustment_request_program_id_status', ['program_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_adjustment_request_account_id'), ['account_id'], unique=False)

    # SQLite cannot change a CHECK in place: the batch rebuilds ledger_entry (env.py turns
    # foreign keys off for it and checks them before the commit).
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_entry_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_kind_known'), KINDS_NOW)


def downgrade():
    # The older code knows no "import" entry: it becomes an adjustment (balances stay).
    op.execute("UPDATE ledger_entry SET kind = 'adjust' WHERE kind = 'import'")
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_entry_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_kind_known'), KINDS_BEFORE)

    with op.batch_alter_table('adjustment_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjustment_request_account_id'))
        batch_op.drop_index('ix_adjustment_request_program_id_status')
    op.drop_table('adjustment_request')

    op.drop_column('card_batch', 'label')
    op.drop_column('terminal', 'last_seen_at')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_program_id_id')
        batch_op.drop_column('after')
        batch_op.drop_column('before')

    # Logins of the new roles cannot exist under the old CHECK: they are switched off as
    # cashiers (no session survives: the old till has no page for them).
    op.execute("DELETE FROM staff_session WHERE staff_id IN (SELECT id FROM staff WHERE role "
               "IN ('marketing', 'support', 'finance'))")
    op.execute("UPDATE staff SET role = 'cashier', active = false "
               "WHERE role IN ('marketing', 'support', 'finance')")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_staff_role_known'), ROLES_BEFORE)
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
