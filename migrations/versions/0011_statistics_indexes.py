"""Statistics indexes: the statistics page reads a year of an estate's orders, each
customer's order history and the orders' goods lines from these indexes alone
(services.statistics), so it stays fast with 100,000 orders.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_shop_order_statistics', 'shop_order',
                    ['estate_id', 'created_at', 'status', 'customer_id', 'delivery_kind', 'payment_mode', 'bottles',
                     'total_ht_cents', 'total_ttc_cents', 'id'], unique=False)
    op.create_index('ix_shop_order_customer_history', 'shop_order',
                    ['estate_id', 'customer_id', 'created_at', 'status'], unique=False)
    op.create_index('ix_order_line_statistics', 'order_line',
                    ['order_id', 'kind', 'wine_id', 'quantity', 'ttc_cents'], unique=False)


def downgrade():
    op.drop_index('ix_order_line_statistics', table_name='order_line')
    op.drop_index('ix_shop_order_customer_history', table_name='shop_order')
    op.drop_index('ix_shop_order_statistics', table_name='shop_order')
