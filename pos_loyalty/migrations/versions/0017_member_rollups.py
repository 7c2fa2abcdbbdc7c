"""Monthly rollups of members: who bought when, their reach and cohorts

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
