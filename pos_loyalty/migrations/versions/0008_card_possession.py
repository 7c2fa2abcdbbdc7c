"""The phone's live code has a secret per account

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:00:00

`account.live_code_secret` (hex) keys the code the phone shows after its card number
(pos_loyalty.live_codes). It is made the first time the phone shows the card, so existing
accounts start without one. New card numbers are drawn at random from now on; cards already
issued keep their numbers, and `program.next_card_serial` is no longer read or written.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_code_secret', sa.String(length=64), nullable=True))


def downgrade():
    # The older code numbers cards from next_card_serial: move it past every card the program
    # has (each sequential serial made one card), so it never repeats a number it issued.
    op.execute("UPDATE program SET next_card_serial = 1 + "
               "(SELECT COUNT(*) FROM card WHERE card.program_id = program.id)")
    # Not batch_alter_table: on SQLite it would rebuild the account table, which the cards and
    # the ledger refer to; SQLite 3.35 and later drop a plain column in place.
    op.drop_column('account', 'live_code_secret')
