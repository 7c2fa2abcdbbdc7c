"""mobile API: app keys, one-time codes, sessions and refresh tokens, profiles, promotions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:45:00

Only new tables: the customer's name, language and SMS opt-out stay on `account`.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('app_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_app_key_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_app_key_key_hash'))
    )
    with op.batch_alter_table('app_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_key_program_id'), ['program_id'], unique=False)

    op.create_table('one_time_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('consumed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("purpose IN ('register', 'pin_reset')", name=op.f('ck_one_time_code_purpose_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_one_time_code_attempts_not_negative')),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_one_time_code_expires_after_creation')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_one_time_code_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_code'))
    )
    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.create_index('ix_one_time_code_program_id_phone_e164', ['program_id', 'phone_e164'], unique=False)

    op.create_table('promotion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("title <> ''", name=op.f('ck_promotion_title_not_empty')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_promotion_ends_after_start')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_promotion_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion')),
    sa.UniqueConstraint('program_id', 'title', 'starts_at', name=op.f('uq_promotion_program_id_title_starts_at'))
    )
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_program_id_ends_at', ['program_id', 'ends_at'], unique=False)

    op.create_table('customer_profile',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("email IS NULL OR email LIKE '%_@_%'", name=op.f('ck_customer_profile_email_has_at')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_customer_profile_account_id_account')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_customer_profile'))
    )
    op.create_table('mobile_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_reason', sa.String(length=16), nullable=True),
    sa.CheckConstraint("revoked_reason IS NULL OR revoked_reason IN ('logout', 'reuse', 'pin_changed', 'erased')", name=op.f('ck_mobile_session_reason_known')),
    sa.CheckConstraint('(revoked_at IS NULL) = (revoked_reason IS NULL)', name=op.f('ck_mobile_session_revoked_with_reason')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_mobile_session_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_mobile_session_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_session'))
    )
    with op.batch_alter_table('mobile_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mobile_session_account_id'), ['account_id'], unique=False)

    op.create_table('refresh_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_refresh_token_expires_after_creation')),
    sa.ForeignKeyConstraint(['session_id'], ['mobile_session.id'], name=op.f('fk_refresh_token_session_id_mobile_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_token_token_hash'))
    )
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_token_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_token_session_id'))

    op.drop_table('refresh_token')
    with op.batch_alter_table('mobile_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mobile_session_account_id'))

    op.drop_table('mobile_session')
    op.drop_table('customer_profile')
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_program_id_ends_at')

    op.drop_table('promotion')
    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_code_program_id_phone_e164')

    op.drop_table('one_time_code')
    with op.batch_alter_table('app_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_key_program_id'))

    op.drop_table('app_key')
