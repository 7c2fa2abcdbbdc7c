"""Indexes for a national chain's year of data (expiry, pending points, verify)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
