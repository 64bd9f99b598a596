"""Promo codes won: a promotion's code is given to customers whose paid order
reaches an amount.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('won_above_cents', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_column('won_above_cents')

