"""worker leases: which worker runs each round of a periodic duty (sweeper, rights, fixity)

Revision ID: 4e7a1c9b2d63
Revises: dbb83b00f6ea
Create Date: 2026-12-07 22:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '4e7a1c9b2d63'
down_revision = 'dbb83b00f6ea'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'worker_leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade():
    op.drop_table('worker_leases')
