"""SMS keep their event and get their text when sent, in the customer's language then

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00

A balance SMS or an expiry warning is written with its event in `payload` and no text yet:
`body`, `segments` and `encoding` stay empty until the worker writes the text, just before it
hands the SMS over. Rows written before this revision keep their text and are sent as they are.

Downgrade: the older worker cannot write a text, so SMS still queued without one are cancelled;
every row then gets a text ('' for those never written) and the old defaults.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UNSENT_STATUSES = "'queued', 'dead', 'cancelled'"


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('segments', existing_type=sa.Integer(), nullable=True,
                              server_default=None)
        batch_op.alter_column('encoding', existing_type=sa.String(length=8), nullable=True,
                              server_default=None)
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_text_or_event'), 'body IS NOT NULL OR payload IS NOT NULL')
        batch_op.create_check_constraint(
            op.f('ck_outbox_message_handed_over_has_text'),
            f'body IS NOT NULL OR status IN ({UNSENT_STATUSES})')


def downgrade():
    op.execute("UPDATE outbox_message SET status = 'cancelled', "
               "last_error = 'no text: migration 0006 was undone' "
               "WHERE body IS NULL AND status = 'queued'")
    op.execute("UPDATE outbox_message SET body = '' WHERE body IS NULL")
    op.execute("UPDATE outbox_message SET segments = 1 WHERE segments IS NULL")
    op.execute("UPDATE outbox_message SET encoding = 'GSM-7' WHERE encoding IS NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_handed_over_has_text'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_message_text_or_event'), type_='check')
        batch_op.alter_column('encoding', existing_type=sa.String(length=8), nullable=False,
                              server_default='GSM-7')
        batch_op.alter_column('segments', existing_type=sa.Integer(), nullable=False,
                              server_default='1')
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
