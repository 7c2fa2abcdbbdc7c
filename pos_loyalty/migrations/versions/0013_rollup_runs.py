"""Analytics: how far each rollup step has got, per program

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 13:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rollup_run',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('done_through', sa.Date(), nullable=False),
    sa.Column('ran_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_rollup_run_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'step', name=op.f('pk_rollup_run'))
    )


def downgrade():
    op.drop_table('rollup_run')
