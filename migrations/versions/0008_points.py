"""Loyalty points (seed 003): the estate's rule, each customer's points balance, and
the ledger's unit (euros of avoir fidélité, or points).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_mode', sa.String(length=10), server_default='off', nullable=False))
        batch_op.add_column(sa.Column('points_rate', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_min_order_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_value_cents', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_balance', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('loyalty_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=6), server_default='eur', nullable=False))



def downgrade():
    with op.batch_alter_table('loyalty_entry', schema=None) as batch_op:
        batch_op.drop_column('unit')

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_column('points_balance')

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('points_value_cents')
        batch_op.drop_column('points_min_order_cents')
        batch_op.drop_column('points_rate')
        batch_op.drop_column('points_mode')

