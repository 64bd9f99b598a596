"""Bons d'achat and the cagnotte (seed 003): at each spending step crossed, the
customer gets a voucher, emailed at once.

Each step is claimed by a guarded UPDATE (``cagnotte_steps_rewarded = k - 1`` → ``k``)
before its voucher is issued, so a step gives exactly one voucher, however often
payment is recorded. A voucher is used by a guarded UPDATE too
(``used_order_id IS NULL``).
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Estate, EstateCustomer, Order, OrderStatus, Voucher
from services import loyalty, mail

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class VoucherUsed(Exception):
    """The voucher was used by another order meanwhile."""


def spent_cents(session: Session, customer: EstateCustomer) -> int:
    """What the customer paid for wines at this estate (paid, not cancelled orders)."""
    orders = session.scalars(select(Order).where(Order.customer_id == customer.id, Order.paid_at.is_not(None),
                                                 Order.status != OrderStatus.CANCELLED))
    return sum(loyalty.credit_base_cents(order) for order in orders)


def progress(estate: Estate, customer: EstateCustomer, spent: int) -> tuple[int, int]:
    """(spent within the current step, step) for "encore X € avant votre prochain bon"."""
    if estate.cagnotte_step_cents <= 0:
        return 0, 0
    return spent % estate.cagnotte_step_cents, estate.cagnotte_step_cents


def on_paid(session: Session, estate: Estate, order: Order, public_url: str) -> list[Voucher]:
    if estate.cagnotte_step_cents <= 0 or estate.cagnotte_voucher_cents <= 0:
        return []
    customer = session.get(EstateCustomer, order.customer_id)
    due = spent_cents(session, customer) // estate.cagnotte_step_cents
    issued = []
    session.refresh(customer)
    for step in range(customer.cagnotte_steps_rewarded + 1, due + 1):
        claimed = session.execute(
            update(EstateCustomer)
            .where(EstateCustomer.id == customer.id, EstateCustomer.cagnotte_steps_rewarded == step - 1)
            .values(cagnotte_steps_rewarded=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            break
        issued.append(issue(session, estate, customer, estate.cagnotte_voucher_cents,
                            f"Cagnotte : palier {step} atteint", public_url))
    return issued


def issue(session: Session, estate: Estate, customer: EstateCustomer, amount_cents: int, reason: str,
          public_url: str) -> Voucher:
    """A new voucher for the customer, emailed at once (through the outbox)."""
    voucher = Voucher(estate_id=estate.id, customer_id=customer.id, code=_new_code(session),
                      amount_cents=amount_cents, reason=reason[:255])
    session.add(voucher)
    session.flush()
    mail.queue_template(session, "voucher", recipient=customer.email, estate_id=estate.id,
                        subject=f"{estate.name} - Votre bon d'achat {voucher.code}", voucher=voucher,
                        customer=customer, estate=estate,
                        shop_url=f"{public_url.rstrip('/')}/{estate.slug}/panier")
    return voucher


def _new_code(session: Session) -> str:
    while True:
        code = "BA-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if session.scalars(select(Voucher.id).where(Voucher.code == code)).first() is None:
            return code


def find_usable(session: Session, customer: EstateCustomer | None, codes: frozenset[str]) -> list[Voucher]:
    if customer is None or customer.id is None or not codes:
        return []
    return list(session.scalars(select(Voucher).where(Voucher.customer_id == customer.id, Voucher.code.in_(codes),
                                                      Voucher.used_order_id.is_(None)).order_by(Voucher.id)))


def find_by_code(session: Session, code: str) -> Voucher | None:
    return session.scalars(select(Voucher).where(Voucher.code == code)).first()


def use(session: Session, voucher_ids: list[int], order: Order) -> None:
    """:raise VoucherUsed:"""
    for voucher_id in voucher_ids:
        used = session.execute(
            update(Voucher).where(Voucher.id == voucher_id, Voucher.used_order_id.is_(None))
            .values(used_order_id=order.id).execution_options(synchronize_session=False)
        ).rowcount
        if used != 1:
            raise VoucherUsed(voucher_id)


def of_customer(session: Session, customer: EstateCustomer) -> list[Voucher]:
    return list(session.scalars(select(Voucher).where(Voucher.customer_id == customer.id).order_by(Voucher.id.desc())))


def count_unused(session: Session, customer: EstateCustomer) -> int:
    return session.scalar(select(func.count()).select_from(Voucher).where(
        Voucher.customer_id == customer.id, Voucher.used_order_id.is_(None))) or 0
