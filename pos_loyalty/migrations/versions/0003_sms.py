"""SMS notifications: outbox delivery columns, opt-out and invalid-number flags, expiry warnings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OUTBOX_STATUSES = ("'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', "
                   "'dead', 'cancelled'")


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('encoding', sa.String(length=8), nullable=False,
                                      server_default='GSM-7'))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('provider_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_status_known'), f"status IN ({OUTBOX_STATUSES})")
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_encoding_known'), "encoding IN ('GSM-7', 'UCS-2')")
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_segments_positive'), 'segments >= 1')
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_attempts_not_negative'), 'attempts >= 0')
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_sending_has_lease'),
            "status <> 'sending' OR locked_until IS NOT NULL")
        batch_op.create_index('ix_outbox_message_provider_sid', ['provider_sid'], unique=False)
        batch_op.create_index('ix_outbox_message_account_id_status', ['account_id', 'status'],
                              unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_opt_out', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('sms_invalid', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_warned_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('point_lot', schema=None) as batch_op:
        batch_op.drop_column('expiry_warned_at')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('sms_invalid')
        batch_op.drop_column('sms_opt_out')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_account_id_status')
        batch_op.drop_index('ix_outbox_message_provider_sid')
        batch_op.drop_constraint(op.f('ck_outbox_message_sending_has_lease'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_message_attempts_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_message_segments_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_message_encoding_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_message_status_known'), type_='check')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('status_changed_at')
        batch_op.drop_column('error_code')
        batch_op.drop_column('provider_status')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('payload')
        batch_op.drop_column('encoding')
        batch_op.drop_column('segments')
