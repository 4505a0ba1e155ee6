"""digitization plans of branches per year (annual report)

Revision ID: 7d4e2b9c1f05
Revises: c3a8e5d1f742
Create Date: 2026-11-22 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7d4e2b9c1f05'
down_revision = 'c3a8e5d1f742'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('documents_newspaper_article', sa.Integer(), nullable=False),
    sa.Column('documents_journal_article', sa.Integer(), nullable=False),
    sa.Column('documents_book_article', sa.Integer(), nullable=False),
    sa.Column('documents_book', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('contracts', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=150), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_plans_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('branch_id', 'year', name=op.f('uq_plans_branch_id'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_year'), ['year'], unique=False)


def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_year'))
        batch_op.drop_index(batch_op.f('ix_plans_branch_id'))

    op.drop_table('plans')
