"""collection items: a document in several collections (documents.collection_id carried over)

The one-collection column ``documents.collection_id`` (with ``collection_position``) becomes
rows of ``collection_items``, one per membership with its position; the old columns go, so
there is one truth about where a document belongs. OAI tombstones keep every setSpec of the
deleted document (space-separated), so their column grows.

Revision ID: 5b9e3d7a4c18
Revises: a7c1e9f3b2d4
Create Date: 2026-12-07 23:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b9e3d7a4c18'
down_revision = 'a7c1e9f3b2d4'
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on: bool) -> None:
    """Turn SQLite's foreign keys off (or on again) around a rebuild of ``documents``.

    Dropping a column rebuilds the table on SQLite (copy, DROP, rename); with foreign keys on,
    the DROP deletes what refers to documents (rights, collection items: ON DELETE CASCADE) or
    fails (scan jobs). The pragma only works outside a transaction, hence the autocommit block.
    """
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.get_context().autocommit_block():
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _rebuild_documents(change) -> None:
    _sqlite_foreign_keys(False)
    try:
        with op.batch_alter_table('documents', schema=None) as batch_op:
            change(batch_op)
        if op.get_bind().dialect.name == "sqlite":
            broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        _sqlite_foreign_keys(True)


def upgrade():
    op.create_table(
        'collection_items',
        sa.Column('collection_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], name=op.f('fk_collection_items_collection_id_collections'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_collection_items_document_id_documents'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('collection_id', 'document_id', name=op.f('pk_collection_items')),
    )
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_items_document_id'), ['document_id'], unique=False)
    # Every existing membership, with its position; added "when the document was made".
    op.execute(
        "INSERT INTO collection_items (collection_id, document_id, position, added_at) "
        "SELECT collection_id, id, collection_position, created_at FROM documents "
        "WHERE collection_id IS NOT NULL"
    )
    def drop_old(batch_op) -> None:
        batch_op.drop_index(batch_op.f('ix_documents_collection_id'))
        batch_op.drop_constraint('fk_documents_collection_id_collections', type_='foreignkey')
        batch_op.drop_column('collection_id')
        batch_op.drop_column('collection_position')

    _rebuild_documents(drop_old)
    with op.batch_alter_table('oai_tombstones', schema=None) as batch_op:
        batch_op.alter_column('set_spec', existing_type=sa.String(length=200), type_=sa.String(length=2000), existing_nullable=True)


def downgrade():
    with op.batch_alter_table('oai_tombstones', schema=None) as batch_op:
        batch_op.alter_column('set_spec', existing_type=sa.String(length=2000), type_=sa.String(length=200), existing_nullable=True)
    def add_old(batch_op) -> None:
        batch_op.add_column(sa.Column('collection_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('collection_position', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_documents_collection_id_collections', 'collections', ['collection_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_documents_collection_id'), ['collection_id'], unique=False)

    _rebuild_documents(add_old)
    # One collection per document can be kept: the first one it was given.
    op.execute(
        "UPDATE documents SET collection_id = (SELECT ci.collection_id FROM collection_items ci "
        "WHERE ci.document_id = documents.id ORDER BY ci.added_at, ci.collection_id LIMIT 1), "
        "collection_position = (SELECT ci.position FROM collection_items ci "
        "WHERE ci.document_id = documents.id ORDER BY ci.added_at, ci.collection_id LIMIT 1)"
    )
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_items_document_id'))
    op.drop_table('collection_items')
