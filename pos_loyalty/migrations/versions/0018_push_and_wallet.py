"""Push notifications and wallet passes: devices, passes, channels

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 16:20:00

The outbox carries pushes and wallet updates beside SMS (`channel`); a push or a wallet
update has no phone number. Rebuilding outbox_message on SQLite copies it once; on
PostgreSQL the column changes are catalogue updates, the new CHECKs one scan.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

UNSENT = "'queued', 'dead', 'cancelled'"


def upgrade():
    op.create_table('push_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=8), nullable=False),
    sa.Column('token', sa.String(length=512), nullable=False),
    sa.Column('app_version', sa.String(length=40), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("platform IN ('ios', 'android')", name=op.f('ck_push_device_platform_known')),
    sa.CheckConstraint("token <> ''", name=op.f('ck_push_device_token_not_empty')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_push_device_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_push_device_program_id_program')),
    sa.ForeignKeyConstraint(['session_id'], ['mobile_session.id'], name=op.f('fk_push_device_session_id_mobile_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_device')),
    sa.UniqueConstraint('program_id', 'platform', 'token', name=op.f('uq_push_device_program_id_platform_token'))
    )
    with op.batch_alter_table('push_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_device_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_device_session_id'), ['session_id'], unique=False)

    op.create_table('wallet_pass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('wallet', sa.String(length=8), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("wallet IN ('apple', 'google')", name=op.f('ck_wallet_pass_wallet_known')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_wallet_pass_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_wallet_pass_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_pass')),
    sa.UniqueConstraint('account_id', 'wallet', name=op.f('uq_wallet_pass_account_id_wallet')),
    sa.UniqueConstraint('serial', name=op.f('uq_wallet_pass_serial'))
    )
    with op.batch_alter_table('wallet_pass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_pass_account_id'), ['account_id'], unique=False)

    op.create_table('pass_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('device_library_id', sa.String(length=128), nullable=False),
    sa.Column('push_token', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pass_id'], ['wallet_pass.id'], name=op.f('fk_pass_registration_pass_id_wallet_pass')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pass_registration')),
    sa.UniqueConstraint('pass_id', 'device_library_id', name=op.f('uq_pass_registration_pass_id_device_library_id'))
    )
    with op.batch_alter_table('pass_registration', schema=None) as batch_op:
        batch_op.create_index('ix_pass_registration_device_library_id', ['device_library_id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_channel', sa.String(length=8), server_default='auto', nullable=False))
        batch_op.add_column(sa.Column('push_devices', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('wallet_passes', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('notify_channel_known', "notify_channel IN ('auto', 'push', 'sms', 'both', 'none')")
        batch_op.create_check_constraint('device_counts_not_negative', 'push_devices >= 0 AND wallet_passes >= 0')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='sms', nullable=False))
        batch_op.alter_column('to_phone', existing_type=sa.String(length=20), nullable=True)
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_handed_over_has_text'), type_='check')
        batch_op.create_check_constraint('handed_over_has_text', f"body IS NOT NULL OR status IN ({UNSENT}) OR channel = 'wallet'")
        batch_op.create_check_constraint('channel_known', "channel IN ('sms', 'push', 'wallet')")
        batch_op.create_check_constraint('sms_has_phone', "channel <> 'sms' OR to_phone IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE channel <> 'sms'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_sms_has_phone'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_channel_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_handed_over_has_text'), type_='check')
        batch_op.create_check_constraint('handed_over_has_text', f"body IS NOT NULL OR status IN ({UNSENT})")
        batch_op.alter_column('to_phone', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column('channel')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_device_counts_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_account_notify_channel_known'), type_='check')
        batch_op.drop_column('wallet_passes')
        batch_op.drop_column('push_devices')
        batch_op.drop_column('notify_channel')

    with op.batch_alter_table('pass_registration', schema=None) as batch_op:
        batch_op.drop_index('ix_pass_registration_device_library_id')
    op.drop_table('pass_registration')
    with op.batch_alter_table('wallet_pass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_pass_account_id'))
    op.drop_table('wallet_pass')
    with op.batch_alter_table('push_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_device_session_id'))
        batch_op.drop_index(batch_op.f('ix_push_device_account_id'))
    op.drop_table('push_device')
