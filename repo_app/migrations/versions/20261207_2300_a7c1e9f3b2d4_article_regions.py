"""articles clipped from issues: the regions of the source pages an article's pages are cut from

Newspaper and journal issues are new document types (a string column: no schema change); an
article's link to its issue and the rectangles it was cut from live in article_regions.

Revision ID: a7c1e9f3b2d4
Revises: 4e7a1c9b2d63
Create Date: 2026-12-07 23:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c1e9f3b2d4'
down_revision = '4e7a1c9b2d63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('article_regions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source_document_id', sa.Integer(), nullable=False),
    sa.Column('source_page_id', sa.Integer(), nullable=False),
    sa.Column('x', sa.Integer(), nullable=False),
    sa.Column('y', sa.Integer(), nullable=False),
    sa.Column('w', sa.Integer(), nullable=False),
    sa.Column('h', sa.Integer(), nullable=False),
    sa.Column('clip_x', sa.Integer(), nullable=False),
    sa.Column('clip_y', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['documents.id'], name=op.f('fk_article_regions_article_id_documents')),
    sa.ForeignKeyConstraint(['source_document_id'], ['documents.id'], name=op.f('fk_article_regions_source_document_id_documents')),
    sa.ForeignKeyConstraint(['source_page_id'], ['pages.id'], name=op.f('fk_article_regions_source_page_id_pages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_regions')),
    sa.UniqueConstraint('article_id', 'position', name=op.f('uq_article_regions_article_id'))
    )
    with op.batch_alter_table('article_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_regions_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_regions_source_document_id'), ['source_document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_regions_source_page_id'), ['source_page_id'], unique=False)


def downgrade():
    with op.batch_alter_table('article_regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_regions_source_page_id'))
        batch_op.drop_index(batch_op.f('ix_article_regions_source_document_id'))
        batch_op.drop_index(batch_op.f('ix_article_regions_article_id'))

    op.drop_table('article_regions')
