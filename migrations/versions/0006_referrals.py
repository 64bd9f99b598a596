"""Parrainage: the estate's sponsor and referee bonuses, each customer's personal
code, and the referrals made.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('referee_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('referee_bonus_cents', sa.Integer(), nullable=False),
    sa.Column('sponsor_bonus_cents', sa.Integer(), nullable=False),
    sa.Column('rewarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_referral_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_referral_order_id_shop_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referee_id'], ['estate_customer.id'], name=op.f('fk_referral_referee_id_estate_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sponsor_id'], ['estate_customer.id'], name=op.f('fk_referral_sponsor_id_estate_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('estate_id', 'referee_id', name=op.f('uq_referral_estate_id'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_referee_id'), ['referee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_sponsor_id'), ['sponsor_id'], unique=False)

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_sponsor_bonus_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('referral_referee_bonus_cents', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint('uq_estate_customer_referral_code', ['estate_id', 'referral_code'])



def downgrade():
    with op.batch_alter_table('estate_customer', schema=None) as batch_op:
        batch_op.drop_constraint('uq_estate_customer_referral_code', type_='unique')
        batch_op.drop_column('referral_code')

    with op.batch_alter_table('estate', schema=None) as batch_op:
        batch_op.drop_column('referral_referee_bonus_cents')
        batch_op.drop_column('referral_sponsor_bonus_cents')

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_sponsor_id'))
        batch_op.drop_index(batch_op.f('ix_referral_referee_id'))
        batch_op.drop_index(batch_op.f('ix_referral_estate_id'))

    op.drop_table('referral')
