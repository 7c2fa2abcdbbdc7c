"""Broadcasts: messages to a segment of customers, by push or SMS

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 10:00:00

A new table only. The downgrade cancels the broadcasts' outbox rows still queued (their
kind, "promotion", is the broadcasts' alone) before dropping the table: nothing refers to a
broadcast that no longer exists.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('broadcast',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=65), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('segment', sa.String(length=40), nullable=False),
    sa.Column('push_only', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('accounts', sa.Integer(), nullable=False),
    sa.Column('push_rows', sa.Integer(), nullable=False),
    sa.Column('sms_rows', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('next_account_id', sa.Integer(), nullable=False),
    sa.Column('first_message_id', sa.Integer(), nullable=True),
    sa.Column('last_message_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('send_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('writing', 'written', 'cancelled')", name=op.f('ck_broadcast_status_known')),
    sa.CheckConstraint('accounts >= 0 AND push_rows >= 0 AND sms_rows >= 0 AND skipped >= 0', name=op.f('ck_broadcast_counts_not_negative')),
    sa.CheckConstraint("(status = 'writing') = (finished_at IS NULL)", name=op.f('ck_broadcast_finished_unless_writing')),
    sa.CheckConstraint("title <> ''", name=op.f('ck_broadcast_title_not_empty')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_broadcast_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast')),
    sa.UniqueConstraint('program_id', 'send_key', name=op.f('uq_broadcast_program_id_send_key'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_program_id_id', ['program_id', 'id'], unique=False)


def downgrade():
    op.execute("UPDATE outbox_message SET status = 'cancelled', "
               "last_error = 'migration 0019 was undone' "
               "WHERE kind = 'promotion' AND status = 'queued'")
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_program_id_id')
    op.drop_table('broadcast')
