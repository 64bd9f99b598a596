"""Loyalty (avoir fidélité): the estate's rates, each customer's balance and the
ledger of its movements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('loyalty_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents <> 0', name=op.f('ck_loyalty_entry_amount_not_zero')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['user.id'], name=op.f('fk_loyalty_entry_actor_user_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['estate_customer.id'], name=op.f('fk_loyalty_entry_customer_id_estate_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_loyalty_entry_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_loyalty_entry_order_id_shop_order'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_entry'))
    )
    with op.batch_alter_table('loyalty_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_entry_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loyalty_entry_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loyalty_entry_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loyalty_enabled', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('loyalty_particulier_bp', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('loyalty_pro_bp', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loyalty_balance_cents', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_column('loyalty_balance_cents')

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('loyalty_pro_bp')
        batch_op.drop_column('loyalty_particulier_bp')
        batch_op.drop_column('loyalty_enabled')

    with op.batch_alter_table('loyalty_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_entry_order_id'))
        batch_op.drop_index(batch_op.f('ix_loyalty_entry_estate_id'))
        batch_op.drop_index(batch_op.f('ix_loyalty_entry_customer_id'))

    op.drop_table('loyalty_entry')
