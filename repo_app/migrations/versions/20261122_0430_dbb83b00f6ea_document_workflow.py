"""document workflow: scanned → OCR done → reviewed → published, or returned with a comment

Every existing document becomes "published" (the server default of the new column), so an
installation shows after the upgrade exactly what it showed before; new uploads start "scanned"
and go through review when MURA_REVIEW_REQUIRED is on (the default).

Revision ID: dbb83b00f6ea
Revises: 7d4e2b9c1f05
Create Date: 2026-11-22 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'dbb83b00f6ea'
down_revision = '7d4e2b9c1f05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='published', nullable=False))
        batch_op.add_column(sa.Column('skip_review', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('review_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('checked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('returned_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_documents_status'), ['status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_documents_published_by_id_users'), 'users', ['published_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_documents_checked_by_id_users'), 'users', ['checked_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_documents_returned_by_id_users'), 'users', ['returned_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_returned_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_documents_checked_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_documents_published_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_documents_status'))
        batch_op.drop_column('published_at')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('returned_at')
        batch_op.drop_column('returned_by_id')
        batch_op.drop_column('checked_at')
        batch_op.drop_column('checked_by_id')
        batch_op.drop_column('review_comment')
        batch_op.drop_column('skip_review')
        batch_op.drop_column('status')
