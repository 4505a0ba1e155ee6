"""page review flags, per-page OCR languages, hand corrections

Revision ID: 5b2e7c1d9a10
Revises: 1cfeff1749bf
Create Date: 2026-11-22 01:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b2e7c1d9a10'
down_revision = '1cfeff1749bf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('langs', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('text_corrected', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('corrected_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_column('flags')
        batch_op.drop_column('corrected_by')
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('text_corrected')
        batch_op.drop_column('langs')
