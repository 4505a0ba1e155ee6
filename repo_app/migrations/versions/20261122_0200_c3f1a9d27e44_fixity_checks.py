"""fixity: when each stored file was last re-hashed, and the result

Revision ID: c3f1a9d27e44
Revises: 92aa067f58f0
Create Date: 2026-11-22 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3f1a9d27e44'
down_revision = '92aa067f58f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('check_result', sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f('ix_stored_files_checked_at'), ['checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_files_check_result'), ['check_result'], unique=False)


def downgrade():
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_files_check_result'))
        batch_op.drop_index(batch_op.f('ix_stored_files_checked_at'))
        batch_op.drop_column('check_result')
        batch_op.drop_column('checked_at')
