"""collection cover page: a collection's cover may be a page of one of its documents

Two plain columns (no foreign key: adding one would rebuild ``collections`` on SQLite, and a
document deleted later only makes the collection fall back to its first document's first page).

Revision ID: 4827af9a1f4e
Revises: 5b9e3d7a4c18
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '4827af9a1f4e'
down_revision = '5b9e3d7a4c18'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('collections', sa.Column('cover_document_id', sa.Integer(), nullable=True))
    op.add_column('collections', sa.Column('cover_seq', sa.Integer(), nullable=True))


def downgrade():
    # Not in a batch: on SQLite a batch rebuilds the table, and dropping ``collections`` with
    # foreign keys on would delete its collection_items (ON DELETE CASCADE). SQLite 3.35 and
    # later drop a plain column in place.
    op.drop_column('collections', 'cover_seq')
    op.drop_column('collections', 'cover_document_id')
