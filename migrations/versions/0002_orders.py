"""Orders: carts, shipping grid, orders and their lines and events, payments and
provider hooks, stored documents, invoices, per-estate sequences, outbox attachments;
payment and delivery settings on estates; addresses in the customer file.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_hook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('resource_id', sa.String(length=60), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_hook')),
    sa.UniqueConstraint('provider', 'event_type', 'resource_id', name=op.f('uq_payment_hook_provider'))
    )
    op.create_table('cart',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_cart_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_cart_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart')),
    sa.UniqueConstraint('estate_id', 'token', name=op.f('uq_cart_estate_id'))
    )
    with op.batch_alter_table('cart', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_token'), ['token'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_user_id'), ['user_id'], unique=False)

    op.create_table('sequence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_sequence_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequence')),
    sa.UniqueConstraint('estate_id', 'name', name=op.f('uq_sequence_estate_id'))
    )
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sequence_estate_id'), ['estate_id'], unique=False)

    op.create_table('shipping_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.Enum('fr_metro', 'corse', 'eu', 'world', name='shipping_zone', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('min_bottles', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('min_bottles >= 1', name=op.f('ck_shipping_rate_min_bottles_positive')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_shipping_rate_price_non_negative')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_shipping_rate_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_rate')),
    sa.UniqueConstraint('estate_id', 'zone', 'min_bottles', name=op.f('uq_shipping_rate_estate_id'))
    )
    with op.batch_alter_table('shipping_rate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipping_rate_estate_id'), ['estate_id'], unique=False)

    op.create_table('cart_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cart_id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_cart_line_quantity_positive')),
    sa.ForeignKeyConstraint(['cart_id'], ['cart.id'], name=op.f('fk_cart_line_cart_id_cart'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_cart_line_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_cart_line_wine_id_wine'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_line')),
    sa.UniqueConstraint('cart_id', 'wine_id', name=op.f('uq_cart_line_cart_id'))
    )
    with op.batch_alter_table('cart_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_line_cart_id'), ['cart_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_line_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_line_wine_id'), ['wine_id'], unique=False)

    op.create_table('outbox_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_message.id'], name=op.f('fk_outbox_attachment_message_id_outbox_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachment'))
    )
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_attachment_message_id'), ['message_id'], unique=False)

    op.create_table('shop_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('checkout_token', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending_payment', 'paid', 'preparing', 'shipped', 'delivered', 'cancelled', name='order_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('price_list_id', sa.Integer(), nullable=True),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('payment_mode', sa.Enum('card', 'transfer', 'cheque', 'cash', name='payment_mode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('delivery_kind', sa.Enum('home', 'pickup', 'hand', name='delivery_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('delivery_label', sa.String(length=200), nullable=False),
    sa.Column('shipping_zone', sa.Enum('fr_metro', 'corse', 'eu', 'world', name='shipping_zone', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('billing_name', sa.String(length=160), nullable=False),
    sa.Column('billing_company', sa.String(length=140), nullable=False),
    sa.Column('billing_street', sa.String(length=200), nullable=False),
    sa.Column('billing_postcode', sa.String(length=10), nullable=False),
    sa.Column('billing_city', sa.String(length=100), nullable=False),
    sa.Column('billing_country', sa.String(length=2), nullable=False),
    sa.Column('shipping_name', sa.String(length=160), nullable=False),
    sa.Column('shipping_street', sa.String(length=200), nullable=False),
    sa.Column('shipping_postcode', sa.String(length=10), nullable=False),
    sa.Column('shipping_city', sa.String(length=100), nullable=False),
    sa.Column('shipping_country', sa.String(length=2), nullable=False),
    sa.Column('customer_note', sa.Text(), nullable=False),
    sa.Column('bottles', sa.Integer(), nullable=False),
    sa.Column('goods_ht_cents', sa.Integer(), nullable=False),
    sa.Column('shipping_ttc_cents', sa.Integer(), nullable=False),
    sa.Column('total_ht_cents', sa.Integer(), nullable=False),
    sa.Column('total_vat_cents', sa.Integer(), nullable=False),
    sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
    sa.Column('sales_conditions', sa.Text(), nullable=False),
    sa.Column('conditions_accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tracking_number', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invoiced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('shipping_ttc_cents >= 0', name=op.f('ck_shop_order_shipping_non_negative')),
    sa.CheckConstraint('total_ttc_cents >= 0', name=op.f('ck_shop_order_total_non_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['estate_customer.id'], name=op.f('fk_shop_order_customer_id_estate_customer')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_shop_order_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], name=op.f('fk_shop_order_price_list_id_price_list'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_shop_order_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_order')),
    sa.UniqueConstraint('estate_id', 'checkout_token', name='uq_shop_order_checkout_token'),
    sa.UniqueConstraint('estate_id', 'number', name='uq_shop_order_number')
    )
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_user_id'), ['user_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=80), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_document_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_document_order_id_shop_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_order_id'), ['order_id'], unique=False)

    op.create_table('order_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('pending_payment', 'paid', 'preparing', 'shipped', 'delivered', 'cancelled', name='from_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('to_status', sa.Enum('pending_payment', 'paid', 'preparing', 'shipped', 'delivered', 'cancelled', name='to_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=160), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['user.id'], name=op.f('fk_order_event_actor_user_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_order_event_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_order_event_order_id_shop_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_event'))
    )
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_event_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_event_order_id'), ['order_id'], unique=False)

    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('ht_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('ttc_cents', sa.Integer(), nullable=False),
    sa.Column('is_shipping', sa.Boolean(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_line_quantity_positive')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_order_line_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_order_line_order_id_shop_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_order_line_wine_id_wine'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_order_id'), ['order_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.Enum('card', 'transfer', 'cheque', 'cash', name='payment_mode', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('created', 'succeeded', 'failed', name='payment_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('provider_payin_id', sa.String(length=60), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('redirect_url', sa.String(length=500), nullable=False),
    sa.Column('wire_reference', sa.String(length=60), nullable=False),
    sa.Column('bank_iban', sa.String(length=40), nullable=False),
    sa.Column('bank_bic', sa.String(length=20), nullable=False),
    sa.Column('bank_owner', sa.String(length=140), nullable=False),
    sa.Column('result_message', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_payment_amount_non_negative')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_payment_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_payment_order_id_shop_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_idempotency_key')),
    sa.UniqueConstraint('provider', 'provider_payin_id', name=op.f('uq_payment_provider'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_order_id'), ['order_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'credit_note', name='invoice_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('total_ht_cents', sa.Integer(), nullable=False),
    sa.Column('total_vat_cents', sa.Integer(), nullable=False),
    sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
    sa.Column('credited_invoice_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['credited_invoice_id'], ['invoice.id'], name=op.f('fk_invoice_credited_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_invoice_document_id_document')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_invoice_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_invoice_order_id_shop_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('estate_id', 'kind', 'number', name=op.f('uq_invoice_estate_id'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_prefix', sa.String(length=8), server_default='CDE', nullable=False))
        batch_op.add_column(sa.Column('free_shipping_above_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('accepts_card', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('accepts_transfer', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('accepts_cheque', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('accepts_cash', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('allows_pickup', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('allows_hand_delivery', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pickup_instructions', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('notification_email', sa.String(length=254), server_default='', nullable=False))
        batch_op.add_column(sa.Column('mangopay_user_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('mangopay_wallet_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('mangopay_bank_account_id', sa.String(length=40), nullable=True))

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('company', sa.String(length=140), server_default='', nullable=False))
        batch_op.add_column(sa.Column('billing_street', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('billing_postcode', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('billing_city', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('billing_country', sa.String(length=2), server_default='FR', nullable=False))
        batch_op.add_column(sa.Column('shipping_street', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('shipping_postcode', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('shipping_city', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('shipping_country', sa.String(length=2), server_default='FR', nullable=False))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mangopay_user_id', sa.String(length=40), nullable=True))



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('mangopay_user_id')

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_column('shipping_country')
        batch_op.drop_column('shipping_city')
        batch_op.drop_column('shipping_postcode')
        batch_op.drop_column('shipping_street')
        batch_op.drop_column('billing_country')
        batch_op.drop_column('billing_city')
        batch_op.drop_column('billing_postcode')
        batch_op.drop_column('billing_street')
        batch_op.drop_column('company')
        batch_op.drop_column('phone')

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('mangopay_bank_account_id')
        batch_op.drop_column('mangopay_wallet_id')
        batch_op.drop_column('mangopay_user_id')
        batch_op.drop_column('notification_email')
        batch_op.drop_column('pickup_instructions')
        batch_op.drop_column('allows_hand_delivery')
        batch_op.drop_column('allows_pickup')
        batch_op.drop_column('accepts_cash')
        batch_op.drop_column('accepts_cheque')
        batch_op.drop_column('accepts_transfer')
        batch_op.drop_column('accepts_card')
        batch_op.drop_column('free_shipping_above_cents')
        batch_op.drop_column('order_prefix')

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_order_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_estate_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_order_id'))
        batch_op.drop_index(batch_op.f('ix_payment_estate_id'))

    op.drop_table('payment')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_order_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_estate_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_event_order_id'))
        batch_op.drop_index(batch_op.f('ix_order_event_estate_id'))

    op.drop_table('order_event')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_order_id'))
        batch_op.drop_index(batch_op.f('ix_document_estate_id'))

    op.drop_table('document')
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_order_user_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_status'))
        batch_op.drop_index(batch_op.f('ix_shop_order_estate_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_customer_id'))

    op.drop_table('shop_order')
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_attachment_message_id'))

    op.drop_table('outbox_attachment')
    with op.batch_alter_table('cart_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_line_wine_id'))
        batch_op.drop_index(batch_op.f('ix_cart_line_estate_id'))
        batch_op.drop_index(batch_op.f('ix_cart_line_cart_id'))

    op.drop_table('cart_line')
    with op.batch_alter_table('shipping_rate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipping_rate_estate_id'))

    op.drop_table('shipping_rate')
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sequence_estate_id'))

    op.drop_table('sequence')
    with op.batch_alter_table('cart', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_user_id'))
        batch_op.drop_index(batch_op.f('ix_cart_token'))
        batch_op.drop_index(batch_op.f('ix_cart_estate_id'))

    op.drop_table('cart')
    op.drop_table('payment_hook')
