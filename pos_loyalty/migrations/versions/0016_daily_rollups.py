"""Daily rollups of sales, points, enrolments and SMS; give-backs dated for the liability

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
