"""Program assets: files the brand uploads (its logo), kept in the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:15:00

Every app server serves them (no local disk to share). A row is never changed: a new upload is
a new row with a new URL, so phones and proxies may cache each one for ever.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('program_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('logo')", name=op.f('ck_program_asset_kind_known')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_program_asset_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_asset'))
    )
    with op.batch_alter_table('program_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_asset_program_id'), ['program_id'], unique=False)


def downgrade():
    with op.batch_alter_table('program_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_asset_program_id'))
    op.drop_table('program_asset')
