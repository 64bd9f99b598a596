"""Customer file CSV imports waiting for confirmation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_customer_import_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_import'))
    )
    with op.batch_alter_table('customer_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_import_estate_id'), ['estate_id'], unique=False)



def downgrade():
    with op.batch_alter_table('customer_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_import_estate_id'))

    op.drop_table('customer_import')
