"""Initial schema: estates, users and staff, customer file, wines, price lists,
prices, VAT rates, the email outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('estate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=140), nullable=False),
    sa.Column('legal_name', sa.String(length=140), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('vat_number', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=80), nullable=False),
    sa.Column('logo_path', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('video_url', sa.String(length=255), nullable=True),
    sa.Column('sales_conditions_fr', sa.Text(), nullable=False),
    sa.Column('sales_conditions_export', sa.Text(), nullable=False),
    sa.Column('minimum_order_cents', sa.Integer(), nullable=False),
    sa.Column('shipping_delay', sa.String(length=140), nullable=False),
    sa.Column('mixing_allowed', sa.Boolean(), nullable=False),
    sa.Column('case_size', sa.Integer(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('case_size >= 1', name=op.f('ck_estate_case_size_positive')),
    sa.CheckConstraint('minimum_order_cents >= 0', name=op.f('ck_estate_minimum_order_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estate')),
    sa.UniqueConstraint('slug', name=op.f('uq_estate_slug'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('role', sa.Enum('customer', 'staff', 'platform_admin', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('pro_status', sa.Enum('none', 'pending', 'verified', 'rejected', name='pro_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('company_name', sa.String(length=140), nullable=False),
    sa.Column('is_active_account', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('vat_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.CheckConstraint('rate_bp >= 0 AND rate_bp < 10000', name=op.f('ck_vat_rate_rate_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vat_rate'))
    )
    op.create_table('estate_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_estate_staff_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_estate_staff_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estate_staff')),
    sa.UniqueConstraint('estate_id', 'user_id', name=op.f('uq_estate_staff_estate_id'))
    )
    with op.batch_alter_table('estate_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_estate_staff_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_estate_staff_user_id'), ['user_id'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_outbox_message_estate_id_estate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_status'), ['status'], unique=False)

    op.create_table('price_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('default_for', sa.Enum('particulier', 'professionnel', name='customer_kind', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('sales_conditions', sa.Text(), nullable=False),
    sa.Column('cash_discount_bp', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('cash_discount_bp >= 0 AND cash_discount_bp <= 10000', name=op.f('ck_price_list_escompte')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_price_list_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_list')),
    sa.UniqueConstraint('estate_id', 'name', name=op.f('uq_price_list_estate_id'))
    )
    with op.batch_alter_table('price_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_list_estate_id'), ['estate_id'], unique=False)

    op.create_table('wine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=140), nullable=False),
    sa.Column('colour', sa.Enum('rouge', 'blanc', 'rose', 'effervescent', 'moelleux', 'autre', name='colour', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('appellation', sa.String(length=140), nullable=False),
    sa.Column('vintage', sa.Integer(), nullable=True),
    sa.Column('volume_ml', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('grapes', sa.String(length=200), nullable=False),
    sa.Column('alcohol_permille', sa.Integer(), nullable=True),
    sa.Column('soil', sa.String(length=200), nullable=False),
    sa.Column('vinification', sa.Text(), nullable=False),
    sa.Column('tasting_notes', sa.Text(), nullable=False),
    sa.Column('food_pairing', sa.String(length=255), nullable=False),
    sa.Column('serving_temperature', sa.String(length=40), nullable=False),
    sa.Column('cellaring', sa.String(length=80), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('is_available', sa.Boolean(), nullable=False),
    sa.Column('available_again_month', sa.Integer(), nullable=True),
    sa.Column('available_again_year', sa.Integer(), nullable=True),
    sa.Column('is_visible', sa.Boolean(), nullable=False),
    sa.Column('order_multiple', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('vat_rate_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('available_again_month IS NULL OR available_again_month BETWEEN 1 AND 12', name=op.f('ck_wine_month_range')),
    sa.CheckConstraint('order_multiple >= 1', name=op.f('ck_wine_order_multiple_positive')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_wine_stock_non_negative')),
    sa.CheckConstraint('volume_ml > 0', name=op.f('ck_wine_volume_positive')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_wine_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vat_rate_id'], ['vat_rate.id'], name=op.f('fk_wine_vat_rate_id_vat_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wine'))
    )
    with op.batch_alter_table('wine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wine_estate_id'), ['estate_id'], unique=False)

    op.create_table('estate_customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('particulier', 'professionnel', name='customer_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('external_number', sa.String(length=40), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=True),
    sa.Column('discount_bp', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('discount_bp >= 0 AND discount_bp <= 10000', name=op.f('ck_estate_customer_discount_range')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_estate_customer_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], name=op.f('fk_estate_customer_price_list_id_price_list'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_estate_customer_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estate_customer')),
    sa.UniqueConstraint('estate_id', 'email', name=op.f('uq_estate_customer_estate_id'))
    )
    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_estate_customer_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_estate_customer_user_id'), ['user_id'], unique=False)

    op.create_table('price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('promo_amount_cents', sa.Integer(), nullable=True),
    sa.Column('promo_active', sa.Boolean(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_price_amount_positive')),
    sa.CheckConstraint('promo_amount_cents IS NULL OR promo_amount_cents > 0', name=op.f('ck_price_promo_positive')),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_price_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], name=op.f('fk_price_price_list_id_price_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_price_wine_id_wine'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price')),
    sa.UniqueConstraint('wine_id', 'price_list_id', name=op.f('uq_price_wine_id'))
    )
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_price_list_id'), ['price_list_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_wine_id'), ['wine_id'], unique=False)

    op.create_table('wine_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wine_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_wine_image_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wine_id'], ['wine.id'], name=op.f('fk_wine_image_wine_id_wine'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wine_image'))
    )
    with op.batch_alter_table('wine_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wine_image_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wine_image_wine_id'), ['wine_id'], unique=False)



def downgrade():
    with op.batch_alter_table('wine_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wine_image_wine_id'))
        batch_op.drop_index(batch_op.f('ix_wine_image_estate_id'))

    op.drop_table('wine_image')
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_wine_id'))
        batch_op.drop_index(batch_op.f('ix_price_price_list_id'))
        batch_op.drop_index(batch_op.f('ix_price_estate_id'))

    op.drop_table('price')
    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_estate_customer_user_id'))
        batch_op.drop_index(batch_op.f('ix_estate_customer_estate_id'))

    op.drop_table('estate_customer')
    with op.batch_alter_table('wine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wine_estate_id'))

    op.drop_table('wine')
    with op.batch_alter_table('price_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_list_estate_id'))

    op.drop_table('price_list')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_estate_id'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('estate_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_estate_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_estate_staff_estate_id'))

    op.drop_table('estate_staff')
    op.drop_table('vat_rate')
    op.drop_table('user')
    op.drop_table('estate')
