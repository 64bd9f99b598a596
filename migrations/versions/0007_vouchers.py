"""Cagnotte and vouchers (bons d'achat): the estate's step and voucher amount, the
steps rewarded per customer, and the vouchers issued.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voucher',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_order_id', sa.Integer(), nullable=True),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_voucher_amount_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['estate_customer.id'], name=op.f('fk_voucher_customer_id_estate_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_voucher_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_order_id'], ['shop_order.id'], name=op.f('fk_voucher_used_order_id_shop_order'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher')),
    sa.UniqueConstraint('estate_id', 'code', name='uq_voucher_estate_code')
    )
    with op.batch_alter_table('voucher', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_estate_id'), ['estate_id'], unique=False)

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cagnotte_step_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cagnotte_voucher_cents', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cagnotte_steps_rewarded', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_column('cagnotte_steps_rewarded')

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('cagnotte_voucher_cents')
        batch_op.drop_column('cagnotte_step_cents')

    with op.batch_alter_table('voucher', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_estate_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_customer_id'))

    op.drop_table('voucher')
