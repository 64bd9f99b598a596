"""Promotions: benefits, conditions, codes with usage limits, targets, gifts and
chosen customers; code redemptions; order lines gain a kind (goods, shipping, gift,
discount) and the promotion behind them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('promotion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('benefit', sa.String(length=20), nullable=False),
    sa.Column('percent_bp', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('nth', sa.Integer(), nullable=False),
    sa.Column('fixed_price_cents', sa.Integer(), nullable=False),
    sa.Column('gift_quantity', sa.Integer(), nullable=False),
    sa.Column('target_colours', sa.String(length=80), nullable=False),
    sa.Column('min_bottles', sa.Integer(), nullable=False),
    sa.Column('min_amount_cents', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('france_only', sa.Boolean(), nullable=False),
    sa.Column('customer_kind', sa.Enum('particulier', 'professionnel', name='customer_kind', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('pickup_only', sa.Boolean(), nullable=False),
    sa.Column('cumulative', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('restricted_to_customers', sa.Boolean(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('max_uses_per_customer', sa.Integer(), nullable=True),
    sa.Column('uses_count', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents >= 0 AND fixed_price_cents >= 0', name=op.f('ck_promotion_amounts_non_negative')),
    sa.CheckConstraint('max_uses IS NULL OR uses_count <= max_uses', name=op.f('ck_promotion_uses_within_limit')),
    sa.CheckConstraint('percent_bp >= 0 AND percent_bp <= 10000', name=op.f('ck_promotion_percent_range')),
    sa.CheckConstraint('uses_count >= 0', name=op.f('ck_promotion_uses_non_negative')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_promotion_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion')),
    sa.UniqueConstraint('estate_id', 'code', name=op.f('uq_promotion_estate_id'))
    )
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_estate_id'), ['estate_id'], unique=False)

    op.create_table('promotion_gift_wine',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_gift_wine_promotion_id_promotion'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_promotion_gift_wine_wine_id_wine'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'wine_id', name=op.f('pk_promotion_gift_wine'))
    )
    op.create_table('promotion_target_wine',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_target_wine_promotion_id_promotion'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_promotion_target_wine_wine_id_wine'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'wine_id', name=op.f('pk_promotion_target_wine'))
    )
    op.create_table('promotion_customer',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['estate_customer.id'], name=op.f('fk_promotion_customer_customer_id_estate_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_customer_promotion_id_promotion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'customer_id', name=op.f('pk_promotion_customer'))
    )
    op.create_table('promotion_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['estate_customer.id'], name=op.f('fk_promotion_use_customer_id_estate_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_promotion_use_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_promotion_use_order_id_shop_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_use_promotion_id_promotion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_use'))
    )
    with op.batch_alter_table('promotion_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_use_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_use_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_use_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_use_promotion_id'), ['promotion_id'], unique=False)

    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='goods', nullable=False))
        batch_op.add_column(sa.Column('promotion_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_order_line_promotion_id_promotion'), 'promotion', ['promotion_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_line_promotion_id_promotion'), type_='foreignkey')
        batch_op.drop_column('promotion_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('promotion_use', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_use_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_use_order_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_use_estate_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_use_customer_id'))

    op.drop_table('promotion_use')
    op.drop_table('promotion_customer')
    op.drop_table('promotion_target_wine')
    op.drop_table('promotion_gift_wine')
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_estate_id'))

    op.drop_table('promotion')
