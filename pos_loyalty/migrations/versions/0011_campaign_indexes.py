"""Indexes for the sale's reads of tiers and campaigns

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:00

A sale of a program with tiers sums the account's entries of the qualification window (the
tier's measure), and one with campaigns limited per customer counts the customer's campaign
entries. Both read every entry of the account through (account_id, id), so they grew with
the customer's history. The measure (and the daily customer cap) now reads
(account_id, created_at), which on PostgreSQL carries kind, points and pending_delta for an
index-only scan; the uses read a partial index of campaign entries only. Every ledger entry
now writes one more index row (two for a campaign's). Building them holds the ledger's writes
back while it lasts (minutes on a large ledger): deploy in a quiet hour.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CAMPAIGN_ENTRY = sa.text("kind = 'campaign'")


def upgrade():
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_account_id_created_at',
                              ['account_id', 'created_at'], unique=False,
                              postgresql_include=['kind', 'points', 'pending_delta'])
        batch_op.create_index('ix_ledger_entry_campaign_uses', ['account_id', 'campaign_id'],
                              unique=False, postgresql_where=CAMPAIGN_ENTRY,
                              sqlite_where=CAMPAIGN_ENTRY)


def downgrade():
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_campaign_uses')
        batch_op.drop_index('ix_ledger_entry_account_id_created_at')
