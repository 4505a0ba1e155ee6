"""readers' requests for digital copies of items not yet digitized

Revision ID: c3a8e5d1f742
Revises: c3f1a9d27e44
Create Date: 2026-11-22 02:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3a8e5d1f742'
down_revision = 'c3f1a9d27e44'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('copy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reader_name', sa.String(length=300), nullable=False),
    sa.Column('reader_email', sa.String(length=300), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_copy_requests_document_id_documents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['catalogue_records.id'], name=op.f('fk_copy_requests_record_id_catalogue_records'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copy_requests')),
    sa.UniqueConstraint('token', name=op.f('uq_copy_requests_token'))
    )
    with op.batch_alter_table('copy_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copy_requests_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_copy_requests_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_copy_requests_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('copy_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copy_requests_status'))
        batch_op.drop_index(batch_op.f('ix_copy_requests_record_id'))
        batch_op.drop_index(batch_op.f('ix_copy_requests_document_id'))

    op.drop_table('copy_requests')
