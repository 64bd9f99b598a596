"""Avoir fidélité (seed 000): a per-customer ledger at each estate.

The balance column is moved only together with a ledger entry, by a guarded UPDATE
(``balance + :amount >= 0``) in the same transaction: the balance is always the sum
of the ledger, never negative, even with concurrent checkouts spending it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import CustomerKind, Estate, EstateCustomer, LoyaltyEntry, Order
from services.pricing import percent_of


class InsufficientBalance(Exception):
    """The debit is larger than the customer's balance (nothing is changed)."""


BALANCES = {"eur": EstateCustomer.loyalty_balance_cents, "points": EstateCustomer.points_balance}


def post(session: Session, customer: EstateCustomer, amount_cents: int, kind: str, reason: str,
         order_id: int | None = None, actor_user_id: int | None = None, unit: str = "eur") -> LoyaltyEntry:
    """Credit (amount > 0) or debit (amount < 0) the customer's avoir fidélité
    (``unit`` "eur", in cents) or points (``unit`` "points").

    :raise InsufficientBalance:
    """
    if amount_cents == 0:
        raise ValueError("a ledger entry moves money")
    balance = BALANCES[unit]
    moved = session.execute(
        update(EstateCustomer)
        .where(EstateCustomer.id == customer.id, balance + amount_cents >= 0)
        .values({balance: balance + amount_cents})
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise InsufficientBalance(customer.email)
    entry = LoyaltyEntry(estate_id=customer.estate_id, customer_id=customer.id, amount_cents=amount_cents,
                         kind=kind, unit=unit, reason=reason[:255], order_id=order_id, actor_user_id=actor_user_id)
    session.add(entry)
    session.flush()
    session.refresh(customer)
    return entry


def rate_bp(estate: Estate, customer: EstateCustomer) -> int:
    if not estate.loyalty_enabled:
        return 0
    return estate.loyalty_pro_bp if customer.kind is CustomerKind.PROFESSIONNEL else estate.loyalty_particulier_bp


def credit_base_cents(order: Order) -> int:
    """What the credit is a % of: the wines as paid (after every discount, loyalty credit
    used included), without shipping."""
    return max(sum(line.ttc_cents for line in order.lines if line.kind in ("goods", "gift", "discount")), 0)


def expected_credit(estate: Estate, order: Order, customer: EstateCustomer) -> int:
    return percent_of(credit_base_cents(order), rate_bp(estate, customer))


def expected_points(estate: Estate, order: Order) -> int:
    """Points for a paid order (seed 003): N per whole euro, or a % of the revenue in
    cents; none below the rule's minimum order."""
    base = credit_base_cents(order)
    if base < estate.points_min_order_cents or estate.points_rate <= 0:
        return 0
    if estate.points_mode == "per_euro":
        return base // 100 * estate.points_rate
    if estate.points_mode == "percent":
        return percent_of(base, estate.points_rate)
    return 0


def points_value_cents(estate: Estate, points: int) -> int:
    return points * estate.points_value_cents // 100


def earn(session: Session, estate: Estate, order: Order) -> LoyaltyEntry | None:
    """On payment: credit the order's % (and its points) to the customer (once per order)."""
    customer = session.get(EstateCustomer, order.customer_id)
    already = session.scalars(select(LoyaltyEntry.id).where(LoyaltyEntry.order_id == order.id,
                                                            LoyaltyEntry.kind == "earned")).first()
    if already is not None:
        return None
    points = expected_points(estate, order)
    if points > 0:
        post(session, customer, points, "earned", f"Points — commande {order.number}", order_id=order.id,
             unit="points")
    amount = expected_credit(estate, order, customer)
    if amount <= 0:
        return None
    return post(session, customer, amount, "earned", f"Commande {order.number}", order_id=order.id)


def spend(session: Session, order: Order, customer: EstateCustomer, amount_cents: int, points: int = 0) -> None:
    """:raise InsufficientBalance: another checkout spent the balance first."""
    if amount_cents > 0:
        post(session, customer, -amount_cents, "spent", f"Utilisé sur la commande {order.number}", order_id=order.id)
    if points > 0:
        post(session, customer, -points, "spent", f"Points utilisés sur la commande {order.number}",
             order_id=order.id, unit="points")


def reverse(session: Session, order: Order) -> None:
    """A cancelled order gives back what it spent and takes back what it earned (at most
    the balance: credit already spent elsewhere cannot be taken back below zero)."""
    customer = session.get(EstateCustomer, order.customer_id)
    entries = session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.order_id == order.id,
                                                         LoyaltyEntry.kind.in_(("earned", "spent")))).all()
    for entry in entries:
        amount = -entry.amount_cents
        if amount < 0:
            balance = customer.points_balance if entry.unit == "points" else customer.loyalty_balance_cents
            amount = -min(-amount, balance)
        if amount:
            post(session, customer, amount, "reversal", f"Annulation de la commande {order.number}",
                 order_id=order.id, unit=entry.unit)


def ledger(session: Session, customer: EstateCustomer) -> list[LoyaltyEntry]:
    """Both units; templates show points entries as points."""
    return list(session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.customer_id == customer.id)
                                .order_by(LoyaltyEntry.id.desc())))
