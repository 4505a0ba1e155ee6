"""library settings (name, address, contacts), outgoing mail, users' e-mail and language

Revision ID: 9c4f2a7e1b38
Revises: 4827af9a1f4e
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9c4f2a7e1b38'
down_revision = '4827af9a1f4e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'library_settings',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_table(
        'outgoing_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('recipient', sa.String(length=300), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outgoing_mail_kind', 'outgoing_mail', ['kind'])
    op.create_index('ix_outgoing_mail_recipient', 'outgoing_mail', ['recipient'])
    op.create_index('ix_outgoing_mail_state', 'outgoing_mail', ['state'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=300), nullable=False, server_default=''))
        batch.add_column(
            sa.Column('notify_by_email', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column('locale', sa.String(length=10), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('locale')
        batch.drop_column('notify_by_email')
        batch.drop_column('email')
    op.drop_index('ix_outgoing_mail_state', table_name='outgoing_mail')
    op.drop_index('ix_outgoing_mail_recipient', table_name='outgoing_mail')
    op.drop_index('ix_outgoing_mail_kind', table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
    op.drop_table('library_settings')
