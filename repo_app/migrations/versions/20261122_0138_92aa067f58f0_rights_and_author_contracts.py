"""rights holders, author contracts, marks on documents, and each document's computed access

Every existing document starts "not_public": run `mura contracts refresh` (or wait for the
hourly rights check) after upgrading, so marks, contracts and MURA_DEFAULT_ACCESS apply.

Revision ID: 92aa067f58f0
Revises: fb089fb6e53c
Create Date: 2026-11-22 01:38:02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '92aa067f58f0'
down_revision = 'fb089fb6e53c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rights_holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('death_year', sa.Integer(), nullable=True),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=300), nullable=False),
    sa.Column('identity', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_holders'))
    )
    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('grants', sa.JSON(), nullable=False),
    sa.Column('remuneration', sa.String(length=500), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('scan_file_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_contracts_branch_id_branches')),
    sa.ForeignKeyConstraint(['scan_file_id'], ['stored_files.id'], name=op.f('fk_contracts_scan_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('number', name=op.f('uq_contracts_number'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_status'), ['status'], unique=False)

    op.create_table('contract_parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_parties_contract_id_contracts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['holder_id'], ['rights_holders.id'], name=op.f('fk_contract_parties_holder_id_rights_holders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_parties'))
    )
    with op.batch_alter_table('contract_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_parties_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_parties_holder_id'), ['holder_id'], unique=False)

    op.create_table('contract_works',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_works_contract_id_contracts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['catalogue_records.id'], name=op.f('fk_contract_works_record_id_catalogue_records'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_works'))
    )
    with op.batch_alter_table('contract_works', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_works_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_works_record_id'), ['record_id'], unique=False)

    op.create_table('document_rights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('mark', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=150), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_rights_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_rights')),
    sa.UniqueConstraint('document_id', name=op.f('uq_document_rights_document_id'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access', sa.String(length=20), server_default='not_public', nullable=False))
        batch_op.add_column(sa.Column('access_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('access_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('access_download', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('access_print', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('rights_uri', sa.String(length=200), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_documents_access'), ['access'], unique=False)



def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_access'))
        batch_op.drop_column('rights_uri')
        batch_op.drop_column('access_print')
        batch_op.drop_column('access_download')
        batch_op.drop_column('access_changed_at')
        batch_op.drop_column('access_reason')
        batch_op.drop_column('access')

    op.drop_table('document_rights')
    with op.batch_alter_table('contract_works', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_works_record_id'))
        batch_op.drop_index(batch_op.f('ix_contract_works_contract_id'))

    op.drop_table('contract_works')
    with op.batch_alter_table('contract_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_parties_holder_id'))
        batch_op.drop_index(batch_op.f('ix_contract_parties_contract_id'))

    op.drop_table('contract_parties')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_status'))
        batch_op.drop_index(batch_op.f('ix_contracts_ends_on'))
        batch_op.drop_index(batch_op.f('ix_contracts_branch_id'))

    op.drop_table('contracts')
    op.drop_table('rights_holders')
